"""``python -m exoextract``. Guarded: forkserver workers import the main module too."""

if __name__ == "__main__":
    from exoextract.cli.commands import main

    main()
