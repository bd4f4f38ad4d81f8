"""Store credit rules: customers' accounts (one per currency), credits, and expiry.

* ``storeCreditAccountCredit(id, creditInput)`` takes a customer GID (the account for the currency is created
  on first use, as the schema's description says) or a ``StoreCreditAccount`` GID (currency must match).
  Errors use ``StoreCreditAccountCreditUserErrorCode`` with messages taken from the enum's descriptions
  (no live capture of them exists in the shared research folder).
* A refund to store credit (``refundCreate`` with ``refundMethods: [{storeCreditRefund}]``, see ``refunds``)
  credits the account through ``credit`` with event ``ORDER_REFUND`` and the refund's order transaction as
  ``origin``; a direct credit has event ``ADJUSTMENT`` and no origin.
* Credits with ``expiresAt`` expire lazily: ``settle_expirations`` (run before every request and every Python
  read) appends a ``StoreCreditAccountExpirationTransaction`` for what is left of each credit whose expiry has
  passed. The emulator has no debits (no checkout), so what is left of a credit is all of it.
"""

from __future__ import annotations

from datetime import UTC, datetime
from decimal import Decimal
from typing import TYPE_CHECKING, Any

from .ids import parse_gid
from .model import Customer, Shop, StoreCreditAccount, StoreCreditEvent, StoreCreditTransaction
from .money import to_decimal
from .outcome import Outcome, UserError, top_level_error

if TYPE_CHECKING:
    from .store import ShopifyStore

ACCOUNT_NOT_FOUND = "The store credit account could not be found."
OWNER_NOT_FOUND = "Owner does not exist."
NEGATIVE_OR_ZERO_AMOUNT = "A positive amount must be used to credit a store credit account."
MISMATCHING_CURRENCY = "The currency provided does not match the currency of the store credit account."
EXPIRES_AT_IN_PAST = "The expiry date must be in the future."


def parse_datetime(value: object) -> datetime:
    """A ``DateTime`` scalar value (ISO-8601, ``Z`` allowed) as an aware UTC datetime; ValueError if not one."""
    if isinstance(value, datetime):
        moment = value
    elif isinstance(value, str):
        moment = datetime.fromisoformat(value.strip().replace("Z", "+00:00"))
    else:
        raise ValueError(f"not a DateTime: {value!r}")
    return moment.replace(tzinfo=UTC) if moment.tzinfo is None else moment.astimezone(UTC)


def ensure_customer(store: ShopifyStore, shop: Shop, customer_id: str | None = None, **details: Any) -> Customer:
    """The customer with this GID (created if new), or a freshly minted one when ``customer_id`` is None."""
    if customer_id is None:
        customer_id = store.new_id("Customer")
    parsed = parse_gid(customer_id)
    if parsed is None or parsed.kind != "Customer":
        raise ValueError(f"not a Customer GID: {customer_id!r}")
    customer = shop.customers.get(customer_id)
    if customer is None:
        customer = Customer(id=customer_id, created_at=store.clock.now())
        shop.customers[customer_id] = customer
    for name, value in details.items():
        if value is not None:
            setattr(customer, name, value)
    return customer


def account_for(store: ShopifyStore, shop: Shop, customer: Customer, currency: str) -> StoreCreditAccount:
    """The customer's account in ``currency``, opened (with a zero balance) if it does not exist yet."""
    for account_id in customer.account_ids:
        account = shop.store_credit_accounts[account_id]
        if account.currency == currency:
            return account
    account = StoreCreditAccount(id=store.new_id("StoreCreditAccount"), owner_id=customer.id, currency=currency)
    shop.store_credit_accounts[account.id] = account
    customer.account_ids.append(account.id)
    return account


def credit(
    store: ShopifyStore,
    account: StoreCreditAccount,
    amount: Decimal,
    event: StoreCreditEvent,
    *,
    expires_at: datetime | None = None,
    order_id: str | None = None,
    origin_transaction_id: str | None = None,
) -> StoreCreditTransaction:
    """Append a credit (no validation: callers check amount, currency and expiry first)."""
    entry = StoreCreditTransaction(
        id=store.new_id("StoreCreditAccountCreditTransaction"),
        account_id=account.id,
        kind="CREDIT",
        amount=amount,
        balance_after=account.balance() + amount,
        created_at=store.clock.now(),
        event=event,
        expires_at=expires_at,
        order_id=order_id,
        origin_transaction_id=origin_transaction_id,
    )
    account.transactions.append(entry)
    return entry


def remaining(entry: StoreCreditTransaction) -> Decimal:
    """What is left of a credit (no debits exist here, so all of it until it expires)."""
    return Decimal("0") if entry.kind != "CREDIT" or entry.expired else entry.amount


def settle_expirations(store: ShopifyStore, shop: Shop) -> None:
    """Expire every credit whose ``expiresAt`` has passed on ``store.clock`` (oldest expiry first)."""
    now = store.clock.now()
    for account in shop.store_credit_accounts.values():
        due = sorted(
            (
                t
                for t in account.transactions
                if t.kind == "CREDIT" and not t.expired and t.expires_at is not None and t.expires_at <= now
            ),
            key=lambda t: t.expires_at or now,
        )
        for entry in due:
            left = remaining(entry)
            entry.expired = True
            if left <= 0:
                continue
            account.transactions.append(
                StoreCreditTransaction(
                    id=store.new_id("StoreCreditAccountExpirationTransaction"),
                    account_id=account.id,
                    kind="EXPIRATION",
                    amount=-left,
                    balance_after=account.balance() - left,
                    created_at=entry.expires_at or now,
                    event="ADJUSTMENT",
                    credit_id=entry.id,
                )
            )


def parse_expiry(value: object) -> datetime | None:
    """An ``expiresAt`` input; an unparseable one is a top-level error (Shopify refuses it while coercing)."""
    if value is None:
        return None
    try:
        return parse_datetime(value)
    except ValueError:
        raise top_level_error(f"Invalid DateTime: {value}", "INVALID_VARIABLE") from None


def expiry_error(value: object, now: datetime, path: list[str], code: str | None) -> UserError | None:
    """A user error for a past ``expiresAt`` (None when it is absent or in the future)."""
    moment = parse_expiry(value)
    return UserError(path, EXPIRES_AT_IN_PAST, code) if moment is not None and moment <= now else None


def credit_account(
    store: ShopifyStore, shop: Shop, target_id: str, credit_input: dict[str, Any]
) -> Outcome[StoreCreditTransaction]:
    """``storeCreditAccountCredit``: ``target_id`` is a ``StoreCreditAccount`` or ``Customer`` GID."""
    settle_expirations(store, shop)
    money = credit_input["creditAmount"]
    amount = to_decimal(money["amount"])
    currency = str(money["currencyCode"])
    amount_path = ["creditInput", "creditAmount", "amount"]

    parsed = parse_gid(target_id)
    kind = parsed.kind if parsed else None
    account: StoreCreditAccount | None = None
    customer: Customer | None = None
    if kind == "StoreCreditAccount":
        account = shop.store_credit_accounts.get(target_id)
        if account is None:
            return Outcome(errors=[UserError(["id"], ACCOUNT_NOT_FOUND, "ACCOUNT_NOT_FOUND")])
    else:
        customer = shop.customers.get(target_id)
        if customer is None:
            return Outcome(errors=[UserError(["id"], OWNER_NOT_FOUND, "OWNER_NOT_FOUND")])

    errors: list[UserError] = []
    if amount <= 0:
        errors.append(UserError(amount_path, NEGATIVE_OR_ZERO_AMOUNT, "NEGATIVE_OR_ZERO_AMOUNT"))
    if account is not None and account.currency != currency:
        path = ["creditInput", "creditAmount", "currencyCode"]
        errors.append(UserError(path, MISMATCHING_CURRENCY, "MISMATCHING_CURRENCY"))
    now = store.clock.now()
    bad_expiry = expiry_error(credit_input.get("expiresAt"), now, ["creditInput", "expiresAt"], "EXPIRES_AT_IN_PAST")
    if bad_expiry is not None:
        errors.append(bad_expiry)
    if errors:
        return Outcome(errors=errors)

    if account is None:
        assert customer is not None
        account = account_for(store, shop, customer, currency)
    entry = credit(store, account, amount, "ADJUSTMENT", expires_at=parse_expiry(credit_input.get("expiresAt")))
    return Outcome(entry)
