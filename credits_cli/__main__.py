from credits_cli.cli import main

main()
