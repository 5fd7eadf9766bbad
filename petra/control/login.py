"""Logins, sessions and the admin routes for users and API tokens.

    POST   /v1/login              {"user", "password"} -> the session: cookie petra_session, body with its csrf
    POST   /v1/logout             ends the caller's session (and clears the cookie)
    GET    /v1/session            who the caller is: name, user, role, via; a session's csrf and expiry
    GET    /v1/users              every user (no hashes), with any lock-out's seconds left
    POST   /v1/users              {"name", "role", "password"}
    PUT    /v1/users/NAME         {"role"} and/or {"password"} (either ends the user's sessions)
    DELETE /v1/users/NAME         the user and their tokens
    POST   /v1/users/NAME/unlock  lift an admin's lock and a lock-out of failed logins
    GET    /v1/tokens?user=NAME   every API token (no digests)
    POST   /v1/tokens             {"user", "role"?, "name"?} -> the token, shown this once
    DELETE /v1/tokens/ID          revoke it (ID or its unique name)

The login is the only route open without credentials, and takes only a JSON
body (`Content-Type: application/json`, else 415): another site's page can
post a form here but not JSON, so it cannot log a browser in as its own
user (login CSRF). A wrong user name and a
wrong password get the same 401 after the same one Argon2id verify
(`petra.security.identity`), a locked-out user name or address a 429 with
Retry-After, and a login while both hashing slots stay busy a 503. The session
cookie is HttpOnly (no script reads it), SameSite=Strict (no other site's page
sends it), Path=/, Secure when the request came over TLS, and lasts as long as
the session may (`security.session_max_hours`); the body's `csrf` goes in the
`X-CSRF-Token` header of every cookie request that changes something. Sessions
are held in memory: a restart of PETRA ends them all.

The admin routes need the admin role (`petra.control.access`) and are
audited by the identity as the acting principal (`user.*`, `token.*`).
"""

from __future__ import annotations

import math
from collections.abc import Callable
from http.cookies import SimpleCookie
from typing import TYPE_CHECKING, Any

from petra.control.auth import SESSION_COOKIE
from petra.control.calls import ApiError, Request, Response, json_body
from petra.security import passwords
from petra.security.identity import LoginRefused
from petra.security.passwords import PasswordRefused
from petra.security.roles import Role, parse_role
from petra.security.users import UserError

if TYPE_CHECKING:
    from petra.security.identity import Identity
    from petra.security.sessions import Session


NO_STORE = ("Cache-Control", "no-store")
"""An answer that sets or shows a secret (the session, its csrf, a new token) is never cached."""


class AccountsApi:
    """The handlers of the routes above, over the plant's `Identity` as `identity()` gives it now (None: an API
    without users, 503 for each but the session)."""

    def __init__(self, identity: Callable[[], Identity | None]) -> None:
        self.identity = identity

    def routes(self) -> list[tuple[str, str, Callable[[Request, dict[str, str]], Any]]]:
        name = r"(?P<name>[^/]+)"
        return [
            ("POST", r"/v1/login", self.login),
            ("POST", r"/v1/logout", self.logout),
            ("GET", r"/v1/session", self.session),
            ("GET", r"/v1/users", self.users),
            ("POST", r"/v1/users", self.add_user),
            ("PUT", rf"/v1/users/{name}", self.change_user),
            ("DELETE", rf"/v1/users/{name}", self.remove_user),
            ("POST", rf"/v1/users/{name}/unlock", self.unlock_user),
            ("GET", r"/v1/tokens", self.tokens),
            ("POST", r"/v1/tokens", self.create_token),
            ("DELETE", r"/v1/tokens/(?P<id>[^/]+)", self.revoke_token),
        ]

    def _identity(self) -> Identity:
        identity = self.identity()
        if identity is None:
            raise ApiError(503, "there are no users here: the users file cannot be used (the log says why)")
        return identity

    # --- the way in ---------------------------------------------------------

    def login(self, request: Request, _: dict[str, str]) -> Any:
        identity = self._identity()
        if request.content_type != "application/json" and request.principal is not None:
            # a page of another site can post a form (text/plain, urlencoded) here, never JSON without CORS:
            # refusing the rest stops it logging a browser in as someone else (login CSRF)
            raise ApiError(415, "a login is a JSON body: send Content-Type: application/json")
        data = json_body(request)
        user, password = data.get("user"), data.get("password")
        if not isinstance(user, str) or not user or not isinstance(password, str) or not password:
            raise ApiError(400, "a login needs {\"user\": ..., \"password\": ...} (two non-empty strings)")
        # a user name is cut to 256 characters (the lock-out keeps it as a key; no real one is that long); the
        # password goes whole: the verify itself bounds what it reads, and a cut one could match a longer guess
        result = identity.login(user[:256], password, request.acting.address)
        if isinstance(result, LoginRefused):
            raise _api_error(result)
        max_age = max(1, math.ceil(result.created + identity.sessions.max_age_s - identity.now()))
        cookie = session_cookie(result.token, max_age, secure=request.secure)
        return Response(200, self._session_body(result, identity), (("Set-Cookie", cookie), NO_STORE))

    def logout(self, request: Request, _: dict[str, str]) -> Any:
        principal = request.acting
        if principal.via != "session" or request.session_token is None:
            raise ApiError(400, f"{principal.name} is not a session: only a login's session logs out (revoke a "
                                "token with DELETE /v1/tokens/ID)")
        self._identity().logout(request.session_token, principal.address)
        return Response(200, {"logged_out": principal.user},
                        (("Set-Cookie", session_cookie("", 0, secure=request.secure)), NO_STORE))

    def session(self, request: Request, _: dict[str, str]) -> Any:
        principal = request.acting
        body: dict[str, Any] = {"name": principal.name, "user": principal.user, "role": principal.role.label,
                                "via": principal.via}
        identity = self.identity()
        if principal.via == "session" and request.session_token is not None and identity is not None:
            body["csrf"] = principal.csrf  # a page reloaded has lost it; only a same-origin script can read this
            live = identity.session(request.session_token)
            if live is not None:
                body.update(self._session_body(live, identity))
            return Response(200, body, (NO_STORE,))
        return body

    def _session_body(self, session: Session, identity: Identity) -> dict[str, Any]:
        sessions = identity.sessions
        return {"user": session.user, "role": session.role.label, "csrf": session.csrf,
                "created": session.created, "expires_at": session.created + sessions.max_age_s,
                "idle_timeout_s": sessions.idle_s}

    # --- users ----------------------------------------------------------------

    def users(self, request: Request, _: dict[str, str]) -> Any:
        identity = self._identity()
        return {"users": identity.users(), "locked_out": [
            {"key": r.key, "retry_after": r.retry_after} for r in identity.locked_out()]}

    def add_user(self, request: Request, _: dict[str, str]) -> Any:
        data = json_body(request)
        name, password = _text(data, "name"), _text(data, "password")
        role = _role(data.get("role"))
        user = _changing(lambda: self._identity().add_user(name, role, password, request.caller))
        return user.public()

    def change_user(self, request: Request, params: dict[str, str]) -> Any:
        data = json_body(request)
        if "role" not in data and "password" not in data:
            raise ApiError(400, "give a new 'role' or 'password' (or both)")
        identity = self._identity()
        name = params["name"]
        user = None
        if "password" in data:
            password = _text(data, "password")
            user = _changing(lambda: identity.set_password(name, password, request.caller))
        if "role" in data:
            role = _role(data["role"])
            user = _changing(lambda: identity.set_role(name, role, request.caller))
        assert user is not None
        return user.public()

    def remove_user(self, request: Request, params: dict[str, str]) -> Any:
        name = params["name"]
        tokens = _changing(lambda: self._identity().remove_user(name, request.caller))
        return {"removed": name, "tokens_removed": tokens}

    def unlock_user(self, request: Request, params: dict[str, str]) -> Any:
        name = params["name"]
        return _changing(lambda: self._identity().unlock_user(name, request.caller)).public()

    # --- API tokens -------------------------------------------------------------

    def tokens(self, request: Request, _: dict[str, str]) -> Any:
        return {"tokens": self._identity().tokens(request.query.get("user") or None)}

    def create_token(self, request: Request, _: dict[str, str]) -> Any:
        data = json_body(request)
        user = _text(data, "user")
        role = None if data.get("role") is None else _role(data["role"])
        name = data.get("name")
        if name is not None and (not isinstance(name, str) or not name):
            raise ApiError(400, "'name' must be a non-empty string")
        token, entry = _changing(lambda: self._identity().create_token(user, role, name, request.caller))
        return Response(200, {**entry.public(), "token": token}, (NO_STORE,))

    def revoke_token(self, request: Request, params: dict[str, str]) -> Any:
        key = params["id"]
        return {"revoked": _changing(lambda: self._identity().revoke_token(key, request.caller)).public()}


def session_cookie(token: str, max_age: int, *, secure: bool) -> str:
    """The Set-Cookie value of the session (an empty token and max_age 0 clear it)."""
    cookie: SimpleCookie = SimpleCookie()
    cookie[SESSION_COOKIE] = token
    morsel = cookie[SESSION_COOKIE]
    morsel["httponly"] = True
    morsel["samesite"] = "Strict"
    morsel["path"] = "/"
    morsel["max-age"] = str(max_age)
    if secure:
        morsel["secure"] = True
    return morsel.OutputString()


def _api_error(refused: LoginRefused) -> ApiError:
    headers = (("Retry-After", str(refused.retry_after)),) if refused.retry_after is not None else ()
    return ApiError(refused.status, refused.reason, headers)


def _text(data: dict[str, Any], key: str) -> str:
    value = data.get(key)
    if not isinstance(value, str) or not value:
        raise ApiError(400, f"'{key}' must be a non-empty string")
    return value


def _role(value: Any) -> Role:
    try:
        return parse_role(value)
    except ValueError as exc:
        raise ApiError(400, str(exc)) from None


def _changing(change: Callable[[], Any]) -> Any:
    """Run an identity change: a refused change is the client's 4xx, never a 500."""
    try:
        return change()
    except PasswordRefused as exc:
        raise ApiError(400, str(exc)) from None
    except UserError as exc:
        message = str(exc)
        raise ApiError(404 if message.startswith("no ") else 409, message) from None
    except passwords.HashingBusy as exc:
        raise ApiError(503, str(exc), (("Retry-After", "1"),)) from None
