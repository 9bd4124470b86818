# placeholder: the harness author replaces this file
