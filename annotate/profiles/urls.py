from django.urls import path

from annotate.profiles import views

app_name = "profiles"
urlpatterns = [
    path("", views.profile_page, name="mine"),
    path("withdraw/", views.profile_withdraw_view, name="withdraw"),
    path("campaigns/<int:campaign_id>/fields/", views.fields_page, name="fields"),
    path("campaigns/<int:campaign_id>/fields/<int:field_id>/remove/", views.field_remove, name="field_remove"),
]
