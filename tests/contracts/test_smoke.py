from tests.conftest import ACME_ID, Parties


def test_deployed_office_is_office(world: Parties) -> None:
    assert world.ledger.participants.is_office(world.office.address)
    assert world.ledger.participants.is_active(ACME_ID)
