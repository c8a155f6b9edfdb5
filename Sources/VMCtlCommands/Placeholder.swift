public enum VMCtlCommandsPlaceholder {}
