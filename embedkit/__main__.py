from embedkit.cli import main

main()
