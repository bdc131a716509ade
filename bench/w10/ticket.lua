-- bench/w10/ticket.lua — W10: enter=FILE.csv enters a receipt sheet (run with --in FOLDER).
require('program').main('plan')
