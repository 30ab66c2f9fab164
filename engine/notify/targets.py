"""Where an outside channel may send: its target checked as an address, and the server's own network kept out.

A channel's target is a URL an admin types, and the worker connects to it from inside the
hospital's network. Left unchecked it reaches what nobody outside should: the server's own
loopback services, the cloud metadata address (169.254.169.254), link-local and multicast
ranges. So every address a target names or resolves to is sorted into one of three kinds:

- `local` (loopback, link-local, unspecified, multicast, reserved, 0.0.0.0/8): never
  reached unless the admin allows its network (HOUQIN_CHANNEL_ALLOWED_NETWORKS, e.g.
  `127.0.0.1/32` for a mail relay on the server itself);
- `private` (10/8, 172.16/12, 192.168/16, 100.64/10, fc00::/7…): the hospital's intranet,
  where its WeCom gateway or mail relay may well live; reached unless
  HOUQIN_CHANNEL_ALLOW_PRIVATE=0;
- `public`: reached.

The check runs when a channel is saved (its literal address, and whatever its name
resolves to then) and again at every delivery, on the addresses the name resolves to at
that moment; the connection then goes to the address that was checked (`pinned`), so a
name that resolves elsewhere between the check and the connection (DNS rebinding) gains
nothing. Through an outbound proxy (HTTP(S)_PROXY) the proxy connects, by name: the
addresses are still checked when this server can resolve them.
"""
import ipaddress
import re
import socket
import urllib.parse
import urllib.request
from dataclasses import dataclass, field

import httpx

from engine import settings

Address = ipaddress.IPv4Address | ipaddress.IPv6Address
_THIS_NETWORK = ipaddress.ip_network("0.0.0.0/8")
_LABEL = re.compile(r"^(?!-)[A-Za-z0-9_-]{1,63}(?<!-)$")
WEB_PORTS = {"http": 80, "https": 443}


class Refused(Exception):
    """The target is not an address a channel may use, or resolves to one it may not reach; says why: in English
    (what a failed delivery records), and as a `code` with `params` (what the channel form says, in the reader's
    language)."""

    def __init__(self, code: str, message: str, /, **params):
        self.code, self.params = code, params
        super().__init__(message)


class Unresolved(Refused):
    """The target's host name does not resolve from here."""


@dataclass(frozen=True)
class Pinned:
    """A request to send to an address that was checked: the URL to connect to and what keeps the name."""

    url: str
    headers: dict = field(default_factory=dict)
    extensions: dict = field(default_factory=dict)


# --- the text of a target -----------------------------------------------------------------------

def web_url(target: str, kind: str) -> urllib.parse.SplitResult:
    """The http(s) URL of a robot or webhook, or Refused saying what to fix."""
    wrong = Refused("target_not_web", f"a {kind} channel needs an http(s) URL, e.g. the robot's webhook address")
    url = split_target(target, wrong)
    if url.scheme not in WEB_PORTS or not url.hostname:
        raise wrong
    return url


def split_target(target: str, wrong: Refused) -> urllib.parse.SplitResult:
    """urlsplit, answering `wrong` for a malformed target (never ValueError)."""
    if any(character.isspace() or ord(character) < 32 or ord(character) == 127 for character in target):
        raise Refused("target_has_spaces", "the target must not contain spaces or control characters")
    try:
        return urllib.parse.urlsplit(target)
    except ValueError:  # e.g. an unclosed IPv6 bracket
        raise wrong from None


def host_port(url: urllib.parse.SplitResult, default_port: int) -> tuple[str, int]:
    """The host (a host name or an IP address) and the port (1-65535) of a split URL, or Refused."""
    try:
        port = url.port
    except ValueError:  # not a number, or past 65535
        port = 0
    if port == 0:
        raise Refused("target_bad_port", f"'{url.netloc}' has no valid port: a port is a number from 1 to 65535",
                      netloc=url.netloc)
    host = url.hostname or ""
    if not _is_host(host):
        raise Refused("target_bad_host", f"'{host}' is not a host name or an IP address", host=host)
    return host, port or default_port


def _is_host(host: str) -> bool:
    try:
        ipaddress.ip_address(host)
        return True
    except ValueError:
        pass
    try:
        name = host.encode("idna").decode("ascii")  # 例子.中国 → xn--fsqu00a.xn--fiqs8s
    except UnicodeError:
        return False
    labels = name.rstrip(".").split(".")
    return len(name) <= 253 and all(_LABEL.match(label) for label in labels)


# --- the addresses it reaches -------------------------------------------------------------------

def kind_of(address: Address) -> str:
    """`local`, `private` or `public` (see the module's docstring)."""
    if isinstance(address, ipaddress.IPv6Address) and address.ipv4_mapped is not None:
        address = address.ipv4_mapped  # ::ffff:127.0.0.1 is 127.0.0.1 on a dual-stack socket
    if (address.is_loopback or address.is_link_local or address.is_unspecified or address.is_multicast
            or address.is_reserved or address in _THIS_NETWORK):
        return "local"
    if not address.is_global or getattr(address, "is_site_local", False):
        return "private"
    return "public"


def check_address(address: Address, host: str) -> None:
    """Refused when the settings do not let a channel reach `address` (which `host` names or resolves to)."""
    current = settings.current()
    if any(address in network for network in current.channel_allowed_networks):
        return
    kind = kind_of(address)
    named = f"'{host}'" if host == str(address) else f"'{host}' ({address})"
    if kind == "local":
        raise Refused("target_local", f"{named} is on the server's own or a link-local network, which channels may "
                      "not reach; an admin may allow it with HOUQIN_CHANNEL_ALLOWED_NETWORKS", named=named)
    if kind == "private" and not current.channel_allow_private:
        raise Refused("target_private", f"{named} is a private (intranet) address, which channels may not reach "
                      "here (HOUQIN_CHANNEL_ALLOW_PRIVATE=0)", named=named)


def resolve(host: str, port: int) -> list[Address]:
    """Every address `host` resolves to now (a literal address is itself); Refused when it resolves to none."""
    try:
        infos = socket.getaddrinfo(host, port, type=socket.SOCK_STREAM)
    except (OSError, UnicodeError) as exc:
        raise Unresolved("target_unresolved", f"cannot resolve '{host}': {exc}", host=host) from None
    return list(dict.fromkeys(ipaddress.ip_address(info[4][0]) for info in infos))


def checked(host: str, port: int) -> list[Address]:
    """The addresses of `host`, every one of them allowed (else Refused): any one refused refuses the host."""
    addresses = resolve(host, port)
    for address in addresses:
        check_address(address, host)
    return addresses


def check_on_save(host: str, port: int) -> None:
    """When a channel is saved: its address, or what its name resolves to now if it resolves here."""
    try:
        literal = ipaddress.ip_address(host)
    except ValueError:
        try:
            addresses = resolve(host, port)
        except Unresolved:
            return  # not resolvable from here (yet): each delivery resolves it again, and says so
        for address in addresses:
            check_address(address, host)
    else:
        check_address(literal, host)


# --- sending to the checked address -------------------------------------------------------------

def pinned(target: str) -> Pinned:
    """How to send to a web target now: to an address just checked, with the name kept for Host and TLS."""
    url = web_url(target, "web")
    host, port = host_port(url, WEB_PORTS[url.scheme])
    if _proxied(url.scheme, host):
        try:
            checked(host, port)
        except Refused as exc:
            if not isinstance(exc, Unresolved):
                raise
        return Pinned(target)  # the proxy resolves the name and connects
    address = checked(host, port)[0]
    named = httpx.URL(target)
    literal = f"[{address}]" if address.version == 6 else str(address)
    userinfo = url.netloc.rpartition("@")[0]
    netloc = (f"{userinfo}@" if userinfo else "") + literal + (f":{url.port}" if url.port else "")
    headers = {"Host": named.netloc.decode("ascii")}
    extensions = {"sni_hostname": named.raw_host.decode("ascii")} if url.scheme == "https" else {}
    return Pinned(urllib.parse.urlunsplit(url._replace(netloc=netloc)), headers, extensions)


def _proxied(scheme: str, host: str) -> bool:
    proxies = urllib.request.getproxies()
    return bool(proxies.get(scheme) or proxies.get("all")) and not urllib.request.proxy_bypass(host)
