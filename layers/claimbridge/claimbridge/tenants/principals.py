"""IAM principals as the tenant API maps them to tenants.

API Gateway's IAM authorizer reports the caller as an ARN: an IAM user, or (the usual case) an STS assumed-role
session ``arn:aws:sts::<account>:assumed-role/<role>/<session>``. A session's ARN carries neither the role's path nor
anything the caller cannot choose besides the role name and account, so both sides are reduced to one key:
``arn:<partition>:iam::<account>:role/<name>`` (or ``user/<name>``). Paths are ignored on purpose: the STS ARN has
none, and IAM role names are unique within an account whatever their path.
"""

from __future__ import annotations

import re

_NAME = r"[A-Za-z0-9+=,.@_-]"
_IAM = re.compile(rf"^arn:(aws[a-z-]*):iam::([0-9]{{12}}):(role|user)/(?:{_NAME}+/)*({_NAME}{{1,128}})$")
_ASSUMED = re.compile(r"^arn:(aws[a-z-]*):sts::([0-9]{12}):assumed-role/([A-Za-z0-9+=,.@_-]{1,128})/[^/]{1,128}$")


def principal_key(arn: str) -> str | None:
    """The tenant-mapping key of an IAM role/user ARN or of an assumed-role session ARN; None for anything else
    (account root, federated users, malformed values), which never maps to a tenant."""
    iam = _IAM.fullmatch(arn)
    if iam is not None:
        partition, account, kind, name = iam.groups()
        return f"arn:{partition}:iam::{account}:{kind}/{name}"
    assumed = _ASSUMED.fullmatch(arn)
    if assumed is not None:
        partition, account, name = assumed.groups()
        return f"arn:{partition}:iam::{account}:role/{name}"
    return None


def principal_keys(arns: list[str] | tuple[str, ...] | frozenset[str]) -> frozenset[str]:
    """The keys of every ARN that has one."""
    return frozenset(key for arn in arns if (key := principal_key(arn)) is not None)
