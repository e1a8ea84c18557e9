from django.urls import path

from .health import ops_health

# Mounted at /ops/ by platform_crm/urls.py: pages for the people who run the platform.
app_name = "ops"
urlpatterns = [path("health/", ops_health, name="health")]
