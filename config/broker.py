"""Kombu's Redis transport, keeping one Redis client per channel for the commands it sends.

Kombu builds a new `redis.Redis` for every message it publishes, and each one fills a table of some two
hundred response callbacks: about a quarter of the cost of queueing a task from a web request. A
`redis.Redis` is safe to share (it takes a connection from its pool per command), so the channel keeps one
for as long as its pool lives. Selected in settings by CELERY_BROKER_TRANSPORT for redis:// brokers.
"""

from kombu.transport import redis


class Channel(redis.Channel):
    _shared_client = None

    def _create_client(self, asynchronous=False):
        if asynchronous:
            return super()._create_client(asynchronous=True)
        pool = self.pool  # made anew after a fork or a reconnect
        if self._shared_client is None or self._shared_client.connection_pool is not pool:
            self._shared_client = super()._create_client()
        return self._shared_client


class Transport(redis.Transport):
    Channel = Channel
