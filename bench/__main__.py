"""Run every benchmark: python -m bench"""

from bench import check_latency, cli_startup, discord_fanout, fanout, ingest, photos, postgres, telegram_fanout

if __name__ == "__main__":
    print("== /check latency ==")
    check_latency.main()
    print("\n== fan-out and checker (SQLite) ==")
    fanout.main()
    print("\n== Telegram fan-out through a fake Bot API ==")
    telegram_fanout.main()
    print("\n== Discord fan-out through a fake Discord server ==")
    discord_fanout.main()
    print("\n== PostgreSQL beside SQLite ==")
    postgres.main()
    print("\n== Ingest of a source's history (backfill) ==")
    ingest.main()
    print("\n== Photos of labels: barcode and OCR time, /check while photos are read ==")
    photos.main()
    print("\n== Command-line start-up: recallbot --help, --version and check ==")
    cli_startup.main()
