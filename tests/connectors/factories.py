import factory

from apps.connectors.models import Action, ConnectedService, Field


class ConnectedServiceFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = ConnectedService

    name = factory.Sequence(lambda n: f"Service {n}")
    fields = factory.LazyFunction(lambda: [Field.EMAIL, Field.ORDERS])
    actions = factory.LazyFunction(lambda: list(Action.values))
    endpoint_url = factory.Sequence(lambda n: f"http://127.0.0.1:9/service-{n}")
    signing_secret = factory.LazyFunction(ConnectedService.generate_secret)
    timeout_seconds = 2
    active = True
    data_held_kk = "Тапсырыстар"
    data_held_en = "Orders"
