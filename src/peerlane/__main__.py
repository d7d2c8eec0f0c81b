from peerlane.cli import main

main()
