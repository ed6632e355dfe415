"""The inspectors' phone web app (PWA) in web/app/, served by the API at /app/."""
