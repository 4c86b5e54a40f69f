"""`harness discover`'s MAC look-up (harness/discover/draft.py): nmap resolves addresses
itself, so this host's neighbour table may hold no entry for the unit, or a failed one on a
loaded link; a connection to an open port makes the kernel ask again, three times at most.
Stand-ins for the table and the connection (no network); the whole draft is checked on
router-udp in tests/lab/test_real_products.py."""
from harness.discover import draft


def _table(monkeypatch, answers):
    asked, connected = [], []
    monkeypatch.setattr(draft, "_neighbour", lambda a: asked.append(a) or answers.pop(0))
    monkeypatch.setattr(draft.net, "tcp_open", lambda wire, a, port: connected.append(port))
    return asked, connected


def test_an_entry_in_the_table_is_taken_as_it_is(monkeypatch):
    asked, connected = _table(monkeypatch, ["02:00:5e:00:00:19"])
    assert draft._mac(None, "198.18.0.35", {22: {}, 443: {}}) == "02:00:5e:00:00:19"
    assert connected == []


def test_a_missing_entry_is_asked_for_again_through_an_open_port(monkeypatch):
    asked, connected = _table(monkeypatch, [None, None, "02:00:5e:00:00:19"])
    assert draft._mac(None, "198.18.0.35", {22: {}, 443: {}}) == "02:00:5e:00:00:19"
    assert connected == [22, 22]


def test_the_look_up_ends_after_three_connections(monkeypatch):
    asked, connected = _table(monkeypatch, [None] * 10)
    assert draft._mac(None, "198.18.0.35", {22: {}}) is None
    assert connected == [22, 22, 22] and len(asked) == 4


def test_no_open_port_no_connection(monkeypatch):
    asked, connected = _table(monkeypatch, [None] * 10)
    assert draft._mac(None, "198.18.0.35", {}) is None and connected == [] and len(asked) == 1
