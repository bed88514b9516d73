from csteer.cli.main import main

main()
