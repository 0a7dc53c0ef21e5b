from evidence_cli.cli import main

if __name__ == "__main__":  # (a worker process of `batch --jobs` imports this module under another name)
    main()
