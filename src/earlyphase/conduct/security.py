"""Passwords (scrypt, a memory-hard KDF from the standard library), API tokens, session
identifiers and the service's persistent secret.

Password rules follow NIST SP 800-63B (5.1.1.2, memorized secrets) and OWASP ASVS 4.0.3 V2.1:
at least :data:`MIN_PASSWORD_LENGTH` characters (12; SP 800-63B-4 asks 15 of a password that is
the only factor, so raise it if the service is exposed beyond a trusted network), at most
:data:`MAX_PASSWORD_LENGTH`, every Unicode character allowed and counted as one after NFKC
normalisation, no composition rules (no "one digit, one capital"), and rejection of the
username and of a built-in list of very common passwords. Passwords are never truncated.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import os
import secrets
import unicodedata
from pathlib import Path

from earlyphase.conduct.keyfiles import create_once, key_file_path

_N, _R, _P = 2**14, 8, 1

#: NIST SP 800-63B 5.1.1.2 / OWASP ASVS 4.0.3 V2.1.1 (user-chosen passwords).
MIN_PASSWORD_LENGTH = 12
#: SP 800-63B: permit at least 64 characters; a bound keeps a request's work finite.
MAX_PASSWORD_LENGTH = 256

#: Very common passwords of 12 characters or more (shorter ones fail the length rule anyway),
#: from the public breach corpora's top lists; compared case-insensitively.
COMMON_PASSWORDS = frozenset(
    {
        "123456789012",
        "1234567890123",
        "12345678901234",
        "123456789123",
        "1q2w3e4r5t6y",
        "1qaz2wsx3edc",
        "1qaz2wsx3edc4rfv",
        "abcdefghijkl",
        "abcd1234abcd",
        "administrator",
        "admin1234567",
        "changeme1234",
        "iloveyou1234",
        "letmein12345",
        "passw0rd1234",
        "password1234",
        "password12345",
        "password123456",
        "password!123",
        "passwordpassword",
        "qwerty123456",
        "qwertyuiop12",
        "qwertyuiopasdf",
        "qwertyuiopasdfgh",
        "welcome12345",
        "welcome123456",
        "zaq12wsxcde3",
        "earlyphase12",
        "earlyphase123",
        "earlyphase1234",
        "clinicaltrial",
        "clinicaltrial1",
    }
)


def normalise(password: str) -> str:
    """NFKC, as SP 800-63B 5.1.1.2 recommends, so the same password typed on another keyboard
    or system (composed or decomposed accents, full-width digits) is the same password."""
    return unicodedata.normalize("NFKC", password)


def check_password(password: str, username: str | None = None) -> None:
    """Raise ``ValueError("password: ...")`` if ``password`` may not be chosen (NIST SP
    800-63B 5.1.1.2): too short, too long, the username, a single repeated character, or one
    of :data:`COMMON_PASSWORDS`."""
    pw = normalise(password)
    if len(pw) < MIN_PASSWORD_LENGTH:
        raise ValueError(f"password: must have at least {MIN_PASSWORD_LENGTH} characters")
    if len(pw) > MAX_PASSWORD_LENGTH:
        raise ValueError(f"password: must have at most {MAX_PASSWORD_LENGTH} characters")
    folded = pw.casefold()
    if username and folded == normalise(username).casefold():
        raise ValueError("password: must not be the username")
    if len(set(folded)) == 1 or folded in COMMON_PASSWORDS:
        raise ValueError("password: too common; choose a longer phrase of unrelated words")


def _scrypt(password: str, salt: bytes, n: int, r: int, p: int) -> bytes:
    return hashlib.scrypt(password.encode(), salt=salt, n=n, r=r, p=p, dklen=32)


def _hash(password: str) -> str:
    salt = secrets.token_bytes(16)
    key = _scrypt(normalise(password), salt, _N, _R, _P)
    salt_b64 = base64.b64encode(salt).decode()
    key_b64 = base64.b64encode(key).decode()
    return f"scrypt${_N}${_R}${_P}${salt_b64}${key_b64}"


def hash_password(password: str, username: str | None = None) -> str:
    """The stored form of a new password, after :func:`check_password`."""
    check_password(password, username)
    return _hash(password)


def verify_password(password: str, stored: str) -> bool:
    """Constant-time comparison of the scrypt key. The password is NFKC-normalised; hashes
    made before normalisation (a non-normalised non-ASCII password) still verify."""
    try:
        _, n, r, p, salt_b64, key_b64 = stored.split("$")
        salt, key = base64.b64decode(salt_b64), base64.b64decode(key_b64)
        params = int(n), int(r), int(p)
    except ValueError:
        return False
    if len(password) > 4 * MAX_PASSWORD_LENGTH:
        password = password[: 4 * MAX_PASSWORD_LENGTH]  # still hashed: the same work
    candidates = [normalise(password)]
    if candidates[0] != password:
        candidates.append(password)
    return any(hmac.compare_digest(_scrypt(c, salt, *params), key) for c in candidates)


#: A hash of a random password that was thrown away, with the current parameters: checking
#: against it costs what checking a real one does, from the first request on.
_DUMMY_HASH = (
    "scrypt$16384$8$1$J1UBJDtwmDbnkDh1Nrd2pw==$fkcYOzd3X/4EHRyFB2M0OrBrJ57pmcbRnECGpZWptJM="
)


def verify_dummy(password: str) -> bool:
    """Do the work of :func:`verify_password` against a hash nobody's password matches, so
    that a sign-in with an unknown username takes as long as one with a wrong password
    (OWASP Authentication Cheat Sheet, "authentication responses"). Always False."""
    verify_password(password, _DUMMY_HASH)
    return False


def new_token() -> tuple[str, str]:
    """A new API token or session identifier (256 random bits) and the hash to store (the
    value itself is shown once)."""
    token = secrets.token_urlsafe(32)
    return token, token_hash(token)


def token_hash(token: str) -> str:
    return hashlib.sha256(token.encode()).hexdigest()


# --- the service's secret -------------------------------------------------------------------


def default_secret_path(url: str) -> Path | None:
    """Where the secret of the database at ``url`` is kept when no variable names it:
    ``DB.secret`` beside a SQLite file; for a server database (PostgreSQL)
    ``$XDG_CONFIG_HOME/earlyphase/secret-<id>.key`` (default ``~/.config``), ``<id>`` derived
    from host, port and database name (never the password). None for an in-memory database."""
    return key_file_path(url, ".secret", "secret")


def load_secret(url: str) -> bytes:
    """The key of the service's HMACs (CSRF tokens), the same for every worker and across
    restarts: ``EARLYPHASE_SECRET`` (the secret itself), else the file named by
    ``EARLYPHASE_SECRET_FILE``, else the default file (:func:`default_secret_path`), created
    once with 32 random bytes and mode 0600. An in-memory database gets a random secret (it
    lives no longer than the process)."""
    env = os.environ.get("EARLYPHASE_SECRET")
    if env:
        return env.encode()
    named = os.environ.get("EARLYPHASE_SECRET_FILE")
    path = Path(named) if named else default_secret_path(url)
    if path is None:
        return secrets.token_hex(32).encode()
    create_once(path)
    try:
        text_ = path.read_text().strip()
    except OSError as exc:
        raise ValueError(f"secret: cannot read {path} ({exc.strerror})") from exc
    if len(text_) < 32:
        raise ValueError(f"secret: {path} holds fewer than 32 characters")
    return text_.encode()
