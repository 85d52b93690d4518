from taskcli.fastpath.client import main

main()
