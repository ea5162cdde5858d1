"""The Redis broker transport keeps one Redis client per channel; other brokers keep kombu's own."""

from config.broker import Transport
from config.celery import app
from config.settings.base import broker_transport


def test_redis_broker_uses_the_transport_that_keeps_one_client():
    assert broker_transport("redis://127.0.0.1:6379/0") == "config.broker:Transport"
    assert broker_transport("rediss://example.kz:6380/0") == "config.broker:Transport"
    assert broker_transport("filesystem://") is None
    with app.connection_for_write() as connection:
        assert isinstance(connection.transport, Transport)
        channel = connection.default_channel
        client = channel._create_client()
        assert channel._create_client() is client
        assert client.ping()
        # After a fork or a reconnect the pool is made anew, and so is the client.
        channel._disconnect_pools()
        fresh = channel._create_client()
        assert fresh is not client and fresh.connection_pool is channel.pool
        assert fresh.ping()
