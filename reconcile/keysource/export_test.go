package keysource

// KeyFile is keyFile, for the tests of the key directory's layout.
var KeyFile = keyFile
