import VMCtlCommands

VMCtl.main()
