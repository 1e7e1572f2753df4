import os

from django.core.wsgi import get_wsgi_application

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "ecommerce.settings")

django_application = get_wsgi_application()

# Imported once Django is set up (the middleware module reaches the app registry).
from ecommerce.api.middleware import ChunkedBodyReader  # noqa: E402

application = ChunkedBodyReader(django_application)
