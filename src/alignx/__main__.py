from alignx.cli import main

main()
