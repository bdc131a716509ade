require('program').main('plan')
