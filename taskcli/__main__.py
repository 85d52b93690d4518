from taskcli.client import main

main()
