package h3srv

import "time"

// SetCreditHold sets how long s holds a batch's stream credit for the next batch, for
// tests that must not be rescued by the timer; set it before s serves.
func SetCreditHold(s *Server, d time.Duration) { s.testCreditHold = d }
