from django.urls import path

from annotate import views

# The site's landing page, outside the annotate/ prefix: `{% url 'home' %}` and LOGIN_REDIRECT_URL name it.
urlpatterns = [
    path("", views.home, name="home"),
]
