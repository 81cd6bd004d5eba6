from drf_spectacular.extensions import OpenApiAuthenticationExtension

from accounts.authentication import ApiTokenAuthentication


class BearerTokenAuthentication(ApiTokenAuthentication):
    """`Authorization: Bearer <key>`, what OpenAI clients send, against the same hashed API keys."""

    keyword = "Bearer"


class BearerTokenScheme(OpenApiAuthenticationExtension):
    target_class = "feedback.authentication.BearerTokenAuthentication"
    name = "bearerAuth"

    def get_security_definition(self, auto_schema):
        return {"type": "http", "scheme": "bearer", "description": "An API key, as OpenAI clients send it."}
