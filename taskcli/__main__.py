from taskcli.cli import main

main()
