"""`python -m devtools.stripe_fake`: serve the stand-in for `make dev`."""

import argparse
import threading

from devtools.stripe_fake import FakeStripe


def main() -> None:
    parser = argparse.ArgumentParser(description="Fake Stripe API for development")
    parser.add_argument("--host", default="127.0.0.1")
    parser.add_argument("--port", type=int, default=12111)
    parser.add_argument("--webhook-url", default="http://localhost:8000/billing/webhook/")
    parser.add_argument("--webhook-secret", default="whsec_dev")
    parser.add_argument(
        "--price",
        action="append",
        default=[],
        help="price_id=amount_in_cents (default: price_pro=2900, price_business=9900)",
    )
    args = parser.parse_args()
    prices = {k: int(v) for k, v in (p.split("=", 1) for p in args.price)} or None
    fake = FakeStripe(
        host=args.host,
        port=args.port,
        webhook_url=args.webhook_url,
        webhook_secret=args.webhook_secret,
        prices=prices,
    ).start()
    print(f"Fake Stripe API at {fake.url}; webhooks to {fake.webhook_url}", flush=True)
    threading.Event().wait()


if __name__ == "__main__":
    main()
