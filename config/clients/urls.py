from csp.decorators import csp_update
from django.urls import path

from config.clients.views import KioskPage

# The kiosk shows the QR image and the receipt's 80 mm PDF it fetched with its device key
# (the key goes in a header, so neither can be a plain link): as blob: URLs of this page.
KIOSK_CSP = {"img-src": ["blob:"], "frame-src": ["blob:"]}

urlpatterns = [
    path("kiosk/", csp_update(KIOSK_CSP)(KioskPage.as_view()), name="kiosk-client"),
]
