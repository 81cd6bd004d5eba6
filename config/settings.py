"""Concord settings, read only from environment variables.

Defaults need no server: SQLite in WAL mode and a Celery broker on the filesystem.
`DATABASE_URL` switches to PostgreSQL, `CELERY_BROKER_URL` to Redis or RabbitMQ.
`DJANGO_ENV=production` refuses to start with insecure values.
"""

import os
from pathlib import Path

import dj_database_url
from csp.constants import NONE, SELF, UNSAFE_INLINE
from django.core.exceptions import ImproperlyConfigured

from config.env import env_bool, env_floats, env_int, env_list, env_str

BASE_DIR = Path(__file__).resolve().parent.parent
DATA_DIR = Path(env_str("CONCORD_DATA_DIR", str(BASE_DIR / "var"))).resolve()
DATA_DIR.mkdir(parents=True, exist_ok=True)

DJANGO_ENV = env_str("DJANGO_ENV", "development")
if DJANGO_ENV not in {"development", "production"}:
    raise ImproperlyConfigured(f"DJANGO_ENV={DJANGO_ENV!r}: use 'development' or 'production'.")
PRODUCTION = DJANGO_ENV == "production"

DEV_SECRET_KEY = "django-insecure-concord-development-key-never-use-in-production"
SECRET_KEY = env_str("DJANGO_SECRET_KEY", DEV_SECRET_KEY)
DEBUG = env_bool("DJANGO_DEBUG", default=not PRODUCTION)
# Where bin/run serves (gunicorn reads the same two variables); shown to people, e.g. by load_demo.
SITE_ADDRESS = f"http://{env_str('CONCORD_HOST', '127.0.0.1')}:{env_str('CONCORD_PORT', '8000')}/"
ALLOWED_HOSTS = env_list(
    "DJANGO_ALLOWED_HOSTS", default=[] if PRODUCTION else ["127.0.0.1", "localhost", "[::1]"]
)

if PRODUCTION:
    problems = []
    if DEBUG:
        problems.append("DJANGO_DEBUG must be off")
    # A random key of 50+ characters has dozens of distinct ones and no period; "abcdefghij" * 5 has neither.
    repeats = (SECRET_KEY * 2).find(SECRET_KEY, 1) < len(SECRET_KEY)
    if SECRET_KEY == DEV_SECRET_KEY or len(SECRET_KEY) < 50 or len(set(SECRET_KEY)) < 16 or repeats:
        problems.append("DJANGO_SECRET_KEY must be set to a random value of at least 50 characters")
    if not ALLOWED_HOSTS:
        problems.append("DJANGO_ALLOWED_HOSTS must list the host names this site serves")
    if "*" in ALLOWED_HOSTS:
        problems.append("DJANGO_ALLOWED_HOSTS must name the hosts, not '*' (any Host header would pass)")
    if problems:
        raise ImproperlyConfigured("Refusing to start in production: " + "; ".join(problems) + ".")

INSTALLED_APPS = [
    "django.contrib.admin",
    "django.contrib.auth",
    "django.contrib.contenttypes",
    "django.contrib.sessions",
    "django.contrib.messages",
    "whitenoise.runserver_nostatic",
    "django.contrib.staticfiles",
    "django.forms",  # its widget templates, for the form renderer that reads the project's templates
    "django_htmx",
    "rest_framework",
    "drf_spectacular",
    "drf_spectacular_sidecar",
    "csp",
    "axes",
    "accounts",
    "core",
    "modelhost",
    "exports",
    "annotate",
    "feedback",
    "annotate.moralgraph",
    "annotate.profiles",
]

MIDDLEWARE = [
    "django.middleware.security.SecurityMiddleware",
    "whitenoise.middleware.WhiteNoiseMiddleware",
    "django.contrib.sessions.middleware.SessionMiddleware",
    "django.middleware.common.CommonMiddleware",
    "django.middleware.csrf.CsrfViewMiddleware",
    "django.contrib.auth.middleware.AuthenticationMiddleware",
    "django.contrib.messages.middleware.MessageMiddleware",
    "django.middleware.clickjacking.XFrameOptionsMiddleware",
    "django_htmx.middleware.HtmxMiddleware",
    "accounts.signin.htmx_signin_middleware",  # an htmx request without a session: 401 for the sign-in dialog
    "csp.middleware.CSPMiddleware",
    "axes.middleware.AxesMiddleware",  # last, as axes asks: it answers a locked-out login itself
]

ROOT_URLCONF = "config.urls"
WSGI_APPLICATION = "config.wsgi.application"
AUTH_USER_MODEL = "accounts.User"
LOGIN_URL = "login"
LOGIN_REDIRECT_URL = "home"
LOGOUT_REDIRECT_URL = "login"
CSRF_FAILURE_VIEW = "accounts.signin.csrf_failure"
# Forms render through the project templates: templates/django/forms/ overrides the error list once for every form.
FORM_RENDERER = "django.forms.renderers.TemplatesSetting"

TEMPLATES = [
    {
        "BACKEND": "django.template.backends.django.DjangoTemplates",
        "DIRS": [BASE_DIR / "templates"],
        "APP_DIRS": True,
        "OPTIONS": {
            "context_processors": [
                "django.template.context_processors.request",
                "django.contrib.auth.context_processors.auth",
                "django.contrib.messages.context_processors.messages",
            ],
        },
    },
]

# --- database ---------------------------------------------------------------
DATABASES = {
    "default": dj_database_url.parse(
        env_str("DATABASE_URL", f"sqlite:///{DATA_DIR / 'db.sqlite3'}"),
        conn_max_age=env_int("DATABASE_CONN_MAX_AGE", 600),
        conn_health_checks=True,
    )
}
if DATABASES["default"]["ENGINE"] == "django.db.backends.sqlite3":
    # WAL lets the web server and the workers read while one writes; IMMEDIATE takes the
    # write lock at BEGIN so concurrent writers wait (busy timeout) instead of failing. Connections persist as on
    # PostgreSQL: opening one and setting its pragmas on every request cost a quarter of the annotator loop.
    DATABASES["default"]["OPTIONS"] = {
        "init_command": "PRAGMA journal_mode=WAL; PRAGMA synchronous=NORMAL;",
        "timeout": 20,
        "transaction_mode": "IMMEDIATE",
    }
    # A file, not memory, so worker processes started by tests share the test database;
    # one per test run, so two runs at once do not share it.
    DATABASES["default"]["TEST"] = {"NAME": str(DATA_DIR / f"test-db-{os.getpid()}.sqlite3")}
elif env_bool("DATABASE_PREPARED_STATEMENTS", True):
    # Parameters bound on the server, and psycopg preparing a statement once a connection has run it a few times
    # (Django turns that off by default), so PostgreSQL stops parsing and planning the queue's statements on every
    # request: about 40% of its CPU per judgment in bench/annotator_loop.py. Turn off behind a pooler that cannot
    # keep prepared statements (PgBouncer in transaction mode before 1.21).
    DATABASES["default"].setdefault("OPTIONS", {}).update(server_side_binding=True, prepare_threshold=5)
DEFAULT_AUTO_FIELD = "django.db.models.BigAutoField"

AUTH_PASSWORD_VALIDATORS = [
    {"NAME": "django.contrib.auth.password_validation.UserAttributeSimilarityValidator"},
    {"NAME": "django.contrib.auth.password_validation.MinimumLengthValidator"},
    {"NAME": "django.contrib.auth.password_validation.CommonPasswordValidator"},
    {"NAME": "django.contrib.auth.password_validation.NumericPasswordValidator"},
]

LANGUAGE_CODE = "en-us"
TIME_ZONE = "UTC"
USE_I18N = True
USE_TZ = True

# --- cache ---------------------------------------------------------------------
# API throttles and the health-probe lock count here. By default files in the data folder, shared by every process
# of this machine (core/cache.py), with no service; with web processes on several machines point it at Redis
# (redis://...) so the limits hold for the whole site. A throttle keeps one entry per API key and view (and per
# anonymous address): MAX_ENTRIES well above Django's 300, past which it would forget live counts.
CACHE_URL = env_str("CONCORD_CACHE_URL", "")
CACHES = {"default": {"BACKEND": "django.core.cache.backends.redis.RedisCache", "LOCATION": CACHE_URL}
          if CACHE_URL else {"BACKEND": "core.cache.FileCache", "LOCATION": str(DATA_DIR / "cache"),
                             "OPTIONS": {"MAX_ENTRIES": 10_000}}}

# --- static files -------------------------------------------------------------
STATIC_URL = "static/"
STATICFILES_DIRS = [BASE_DIR / "static"]
STATIC_ROOT = DATA_DIR / "staticfiles"
STATIC_ROOT.mkdir(exist_ok=True)  # whitenoise warns on every request otherwise
WHITENOISE_USE_FINDERS = not PRODUCTION
STORAGES = {
    "default": {"BACKEND": "django.core.files.storage.FileSystemStorage"},
    "staticfiles": {
        "BACKEND": "whitenoise.storage.CompressedManifestStaticFilesStorage"
        if PRODUCTION
        else "django.contrib.staticfiles.storage.StaticFilesStorage"
    },
}
MEDIA_ROOT = DATA_DIR / "media"  # exports live here; served only through permission-checked views

# --- security -----------------------------------------------------------------
SESSION_COOKIE_HTTPONLY = True
CSRF_COOKIE_HTTPONLY = False  # htmx reads the token from the page, not the cookie
X_FRAME_OPTIONS = "DENY"
SECURE_CONTENT_TYPE_NOSNIFF = True
SECURE_REFERRER_POLICY = "same-origin"
if PRODUCTION:
    SECURE_SSL_REDIRECT = env_bool("DJANGO_SECURE_SSL_REDIRECT", True)
    SECURE_PROXY_SSL_HEADER = ("HTTP_X_FORWARDED_PROTO", "https")
    SESSION_COOKIE_SECURE = True
    CSRF_COOKIE_SECURE = True
    SECURE_HSTS_SECONDS = env_int("DJANGO_HSTS_SECONDS", 31536000)
    SECURE_HSTS_INCLUDE_SUBDOMAINS = True
    SECURE_HSTS_PRELOAD = True
    CSRF_TRUSTED_ORIGINS = env_list("DJANGO_CSRF_TRUSTED_ORIGINS", [f"https://{h}" for h in ALLOWED_HOSTS])

# Content-Security-Policy, enforced: scripts and styles come only from our static files (no inline script
# anywhere, so injected markup cannot run). Style attributes stay allowed for the progress bars' widths.
CONTENT_SECURITY_POLICY = {
    "DIRECTIVES": {
        "default-src": [SELF],
        "script-src": [SELF],
        "style-src": [SELF],
        "style-src-attr": [UNSAFE_INLINE],
        "img-src": [SELF, "data:"],
        "connect-src": [SELF],
        "object-src": [NONE],
        "base-uri": [NONE],
        "form-action": [SELF],
        "frame-ancestors": [NONE],
    },
}

# Login lockout (django-axes): the login page and the admin's are refused for a username from an address after
# this many failures in a row, until the cool-off ends or an admin resets it (`manage.py axes_reset`).
AUTHENTICATION_BACKENDS = ["axes.backends.AxesStandaloneBackend", "django.contrib.auth.backends.ModelBackend"]
AXES_ENABLED = env_bool("CONCORD_LOGIN_LOCKOUT", True)
AXES_FAILURE_LIMIT = env_int("CONCORD_LOGIN_FAILURE_LIMIT", 5)
AXES_COOLOFF_TIME = env_int("CONCORD_LOGIN_COOLOFF_MINUTES", 30) / 60  # hours, as axes counts them
AXES_LOCKOUT_PARAMETERS = [["username", "ip_address"]]  # a stranger cannot lock a user out from elsewhere
AXES_RESET_ON_SUCCESS = True
AXES_IPWARE_PROXY_COUNT = env_int("CONCORD_PROXY_COUNT", 0)  # proxies in front that set X-Forwarded-For

# The largest request body apart from uploaded files: API JSON bodies included (core.api.JSONParser).
DATA_UPLOAD_MAX_MEMORY_SIZE = env_int("DJANGO_DATA_UPLOAD_MAX_MEMORY_SIZE", 2_621_440)

EMAIL_BACKEND = env_str("DJANGO_EMAIL_BACKEND", "django.core.mail.backends.console.EmailBackend")

# --- REST API -----------------------------------------------------------------
REST_FRAMEWORK = {
    "DEFAULT_AUTHENTICATION_CLASSES": [
        "accounts.authentication.ApiTokenAuthentication",
        "rest_framework.authentication.SessionAuthentication",
    ],
    "DEFAULT_PERMISSION_CLASSES": ["rest_framework.permissions.IsAuthenticated"],
    # JSON only: the interactive documentation is /api/docs/, and negotiating between JSON and the browsable
    # HTML renderer cost 4% of the CPU of each API request (bench/annotator_loop.py).
    "DEFAULT_RENDERER_CLASSES": ["rest_framework.renderers.JSONRenderer"],
    "DEFAULT_PARSER_CLASSES": ["core.api.JSONParser", "rest_framework.parsers.FormParser",
                               "rest_framework.parsers.MultiPartParser"],
    "DEFAULT_SCHEMA_CLASS": "drf_spectacular.openapi.AutoSchema",
    "EXCEPTION_HANDLER": "core.api.exception_handler",
    # Anonymous callers per address; signed-in callers per API key (or session) and per view, so neither one
    # client nor one hot view takes a key's whole budget. Counted in the cache (CONCORD_CACHE_URL).
    "DEFAULT_THROTTLE_CLASSES": ["core.api.AnonRateThrottle", "core.api.KeyViewRateThrottle"],
    "DEFAULT_THROTTLE_RATES": {
        "anon": env_str("CONCORD_THROTTLE_ANON", "60/min"),
        "key_view": env_str("CONCORD_THROTTLE_KEY_VIEW", "1200/min"),
    },
}
SPECTACULAR_SETTINGS = {
    "TITLE": "Concord API",
    "DESCRIPTION": "Annotation, feedback and model-host API. Authenticate with `Authorization: Token <key>`.",
    "VERSION": "1",
    "SERVE_INCLUDE_SCHEMA": False,
    "SWAGGER_UI_DIST": "SIDECAR",
    "SWAGGER_UI_FAVICON_HREF": "SIDECAR",
    "REDOC_DIST": "SIDECAR",
    # Several models have a `status`: name each set of choices once.
    "ENUM_NAME_OVERRIDES": {
        "CampaignStatusEnum": "annotate.models.Campaign.Status",
        "RunStatusEnum": "core.runs.Run.Status",
    },
}

# --- Celery -------------------------------------------------------------------
CELERY_BROKER_URL = env_str("CELERY_BROKER_URL", "filesystem://")
if CELERY_BROKER_URL.startswith("filesystem://"):
    _broker_dir = DATA_DIR / "broker"
    (_broker_dir / "queue").mkdir(parents=True, exist_ok=True)
    (_broker_dir / "control").mkdir(parents=True, exist_ok=True)
    CELERY_BROKER_TRANSPORT_OPTIONS = {
        "data_folder_in": str(_broker_dir / "queue"),
        "data_folder_out": str(_broker_dir / "queue"),
        "control_folder": str(_broker_dir / "control"),
        "store_processed": False,
    }
else:
    # Redis redelivers unacked messages after this; it must exceed the longest task.
    CELERY_BROKER_TRANSPORT_OPTIONS = {"visibility_timeout": env_int("CELERY_VISIBILITY_TIMEOUT", 7200)}
CELERY_TASK_ALWAYS_EAGER = env_bool("CELERY_TASK_ALWAYS_EAGER", False)
CELERY_TASK_EAGER_PROPAGATES = True
CELERY_TASK_IGNORE_RESULT = True  # results live in our own rows, not in a result backend
CELERY_TASK_DEFAULT_QUEUE = "default"
CELERY_TASK_ROUTES = {"modelhost.tasks.*": {"queue": "gpu"}, "annotate.tasks.judge_run_run": {"queue": "gpu"}}
CELERY_TASK_ACKS_LATE = True
CELERY_TASK_REJECT_ON_WORKER_LOST = True
CELERY_WORKER_PREFETCH_MULTIPLIER = 1
CELERY_TASK_SOFT_TIME_LIMIT = env_int("CELERY_TASK_SOFT_TIME_LIMIT", 3300)
CELERY_TASK_TIME_LIMIT = env_int("CELERY_TASK_TIME_LIMIT", 3600)
CELERY_WORKER_HIJACK_ROOT_LOGGER = False
CELERY_BROKER_CONNECTION_RETRY_ON_STARTUP = True

# A worker writes a heartbeat row this often; /healthz calls it dead after 3 missed beats.
WORKER_HEARTBEAT_SECONDS = env_int("CONCORD_WORKER_HEARTBEAT_SECONDS", 10)
# A run queued this long is sent again (its message may be gone with a broker restarted without persistence).
RUN_REQUEUE_SECONDS = env_int("CONCORD_RUN_REQUEUE_SECONDS", 600)
# /healthz shows its details and runs probes for staff, or for a monitor sending this in X-Healthz-Token.
HEALTHZ_TOKEN = env_str("CONCORD_HEALTHZ_TOKEN", "")
HEALTHZ_PROBE_INTERVAL_SECONDS = env_int("CONCORD_HEALTHZ_PROBE_INTERVAL_SECONDS", 10)
HEALTHZ_PROBE_TIMEOUT_SECONDS = env_int("CONCORD_HEALTHZ_PROBE_TIMEOUT_SECONDS", 5)

# --- model host -----------------------------------------------------------------
# Weights load only from these folders (plus the bundled SmolLM2 and its converted cache).
MODELHOST_MODEL_DIRS = env_list("MODELHOST_MODEL_DIRS", [])
MODELHOST_CACHE_DIR = DATA_DIR / "models"
MODELHOST_DEVICE = env_str("MODELHOST_DEVICE", "auto")
MODELHOST_TOKEN_BUDGET = env_int("MODELHOST_TOKEN_BUDGET", 16384)

# The report shows profile groups (whose preferences) only when this many annotators make up each: fewer could
# single a person's answers out.
REPORT_MIN_GROUP_SIZE = env_int("CONCORD_REPORT_MIN_GROUP_SIZE", 5)
if REPORT_MIN_GROUP_SIZE < 2:
    raise ImproperlyConfigured("CONCORD_REPORT_MIN_GROUP_SIZE must be 2 or more: a group of one is a person.")
# OpenAI-compatible servers must be on public addresses, except these hosts (a vLLM on the LAN, 127.0.0.1).
MODELHOST_ALLOWED_HOSTS = env_list("MODELHOST_ALLOWED_HOSTS", [])
# The most outputs one generation job may ask for (conversations x endpoints x n): a bigger one is refused.
MODELHOST_JOB_MAX_OUTPUTS = env_int("MODELHOST_JOB_MAX_OUTPUTS", 100_000)
# Load the default model when a gpu worker starts rather than on its first task.
MODELHOST_PRELOAD = env_bool("MODELHOST_PRELOAD", True)
# Streamed chat replies: "inprocess" (the web process runs the model; the embedded default) or
# "worker" (a gpu worker runs it and the web process relays what it writes).
MODELHOST_STREAM_VIA = env_str(
    "MODELHOST_STREAM_VIA", "inprocess" if CELERY_BROKER_URL.startswith("filesystem://") else "worker"
)
# A streamed reply that no worker has started by then will not start soon: the stream says so.
MODELHOST_REPLY_PICKUP_SECONDS = env_int("MODELHOST_REPLY_PICKUP_SECONDS", 30)

# --- chat API (feedback/) ---------------------------------------------------------
# Per API key (DRF throttles, in the cache: shared by this machine's processes, or by all with Redis).
FEEDBACK_REQUESTS_PER_MINUTE = env_int("FEEDBACK_REQUESTS_PER_MINUTE", 120)
FEEDBACK_TOKENS_PER_MINUTE = env_int("FEEDBACK_TOKENS_PER_MINUTE", 60000)
FEEDBACK_MAX_REQUEST_BYTES = env_int("FEEDBACK_MAX_REQUEST_BYTES", 1_000_000)
FEEDBACK_MAX_MESSAGES = env_int("FEEDBACK_MAX_MESSAGES", 200)
FEEDBACK_MAX_TOKENS = env_int("FEEDBACK_MAX_TOKENS", 1024)  # also at most half the endpoint's context
FEEDBACK_REPLY_TIMEOUT_SECONDS = env_int("FEEDBACK_REPLY_TIMEOUT_SECONDS", 120)
FEEDBACK_IMPORT_INLINE_BYTES = env_int("FEEDBACK_IMPORT_INLINE_BYTES", 5_000_000)  # larger uploads run as a task
# Under ASGI (uvicorn workers) streams are relayed from the gpu worker through this Redis; empty = in-process.
FEEDBACK_STREAM_REDIS_URL = env_str(
    "FEEDBACK_STREAM_REDIS_URL", CELERY_BROKER_URL if CELERY_BROKER_URL.startswith("redis") else ""
)

# --- feedback mining (feedback/services/mining.py) -------------------------------
# Per-head thresholds over the saved stage-1 model's own, as "head=probability" pairs: heads are sat, dsat and the
# 18 categories (feedback/signals/rubric.py), e.g. "dsat=0.9,revision=0.6"; a higher dsat buys precision with recall.
FEEDBACK_SIGNAL_THRESHOLDS = env_floats("FEEDBACK_SIGNAL_THRESHOLDS")
FEEDBACK_MINING_BATCH = env_int("FEEDBACK_MINING_BATCH", 256)  # user turns labelled and committed at a time
FEEDBACK_VERIFY_CAMPAIGN = env_str("FEEDBACK_VERIFY_CAMPAIGN", "Verify mined feedback")  # + " (<manager>)"

LOGGING = {
    "version": 1,
    "disable_existing_loggers": False,
    "formatters": {"plain": {"format": "%(asctime)s %(levelname)s %(name)s: %(message)s"}},
    "handlers": {"console": {"class": "logging.StreamHandler", "formatter": "plain"}},
    "root": {"handlers": ["console"], "level": env_str("LOG_LEVEL", "INFO")},
    # The filesystem transport has no host name; kombu warns about it on every connection.
    "loggers": {"kombu.connection": {"level": "ERROR"},
                # axes logs every sign-in at INFO; its lockouts come at WARNING.
                "axes": {"level": "WARNING"}},
}
