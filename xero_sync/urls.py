from django.urls import path

from . import views

app_name = "xero_sync"
urlpatterns = [
    path("", views.integration_index, name="integrations"),
]
