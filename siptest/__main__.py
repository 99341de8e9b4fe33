from siptest.cli import main

main()
