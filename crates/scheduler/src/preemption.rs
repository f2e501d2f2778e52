//! DefaultPreemption (to come).
