from jjjsim.cli import main

main()
