from django.urls import path

from . import views

app_name = "taxes"
urlpatterns = [
    path("", views.tax_rate_index, name="index"),
    path("new/", views.tax_rate_new, name="new"),
    path("<int:pk>/edit/", views.tax_rate_edit, name="edit"),
]
