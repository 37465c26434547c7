from csp.decorators import csp_update
from django.urls import path

from config.clients.views import DeskPage, KioskPage

# The clients show files they fetched with their credential (the QR image, the receipt's
# or the Z-report's PDF; the credential goes in a header, so none can be a plain link): as
# blob: URLs of the page itself.
BLOB_CSP = {"img-src": ["blob:"], "frame-src": ["blob:"]}

urlpatterns = [
    path("kiosk/", csp_update(BLOB_CSP)(KioskPage.as_view()), name="kiosk-client"),
    path("desk/", csp_update(BLOB_CSP)(DeskPage.as_view()), name="desk-client"),
]
