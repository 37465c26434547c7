from django.urls import path

from config.clients.views import KioskPage

urlpatterns = [
    path("kiosk/", KioskPage.as_view(), name="kiosk-client"),
]
