from django.urls import path

from . import views

app_name = "contacts"
urlpatterns = [
    path("", views.contact_index, name="index"),
    path("new/", views.contact_new, name="new"),
    path("pick/", views.contact_pick, name="pick"),
    path("duplicates/", views.contact_duplicates, name="duplicates"),
    path("<int:pk>/", views.contact_detail, name="detail"),
    path("<int:pk>/edit/", views.contact_edit, name="edit"),
]
