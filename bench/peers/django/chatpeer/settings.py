"""A Django Channels chat in the shape of the official tutorial, for Sori's benchmarks.

The channel layer is chosen by SORI_PEER_LAYER: "memory" (InMemoryChannelLayer) or "redis"
(channels_redis on the loopback redis-server at SORI_PEER_REDIS_PORT).
"""

import os

SECRET_KEY = "benchmark-only-not-secret"
DEBUG = False
ALLOWED_HOSTS = ["127.0.0.1", "localhost"]
INSTALLED_APPS = ["daphne", "channels"]
ROOT_URLCONF = "chatpeer.urls"
ASGI_APPLICATION = "chatpeer.asgi.application"
USE_TZ = True
LOGGING = {"version": 1, "disable_existing_loggers": True}

if os.environ.get("SORI_PEER_LAYER", "memory") == "redis":
    CHANNEL_LAYERS = {
        "default": {
            "BACKEND": "channels_redis.core.RedisChannelLayer",
            "CONFIG": {
                "hosts": [("127.0.0.1", int(os.environ.get("SORI_PEER_REDIS_PORT", "6379")))],
            },
        }
    }
else:
    CHANNEL_LAYERS = {"default": {"BACKEND": "channels.layers.InMemoryChannelLayer"}}
