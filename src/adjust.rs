//! Class -> change to the next plan.
