// The credibility model written the straightforward way: benchmarks/baseline_pymc.py in
// Stan, on the same data (benchmarks/stan_engine.py builds them from baseline_pymc.design).
//
// theta[u, t] = mu_alliance[a(u)] + level[u] + walk[u, t] + reputation[m(u), t]
//   walk: random walk from 0, non-centred innovations (cumulative sum)
//   reputation[m, t] = phi_r * reputation[m, t - 1]
//                      + kappa_h * honored[m, t - 1] - kappa_v * violated[m, t - 1]
// Identified by level ~ N(0, 1), zero-mean alliance baselines and loading > 0 (no
// in-model standardisation, unlike bayescred).  Observations index the (unit, year)
// cell of theta in column-major order: cell = (year - 1) * U + unit.
data {
  int<lower=1> U;  // units (member-alliance commitments)
  int<lower=2> T;  // years
  int<lower=1> M;  // members
  int<lower=1> A;  // alliances
  int<lower=1> J;  // signals
  array[U] int<lower=1, upper=A> alliance;
  array[U] int<lower=1, upper=M> member;
  matrix<lower=0>[M, T] honored;   // crises member m honoured in year t
  matrix<lower=0>[M, T] violated;  // crises member m violated in year t
  vector[J] direction;             // +1 / -1
  vector[J] centre;                // data-implied centre of each signal's predictor

  // negative binomial counts (troops); K_nb signals, each with its dispersion
  int<lower=0> N_nb;
  int<lower=0> K_nb;
  array[N_nb] int<lower=1, upper=U * T> cell_nb;
  array[N_nb] int<lower=1, upper=J> signal_nb;
  array[N_nb] int<lower=1> aux_nb;
  array[N_nb] int<lower=0> y_nb;

  // lognormal amounts (spending); each signal with its sigma
  int<lower=0> N_ln;
  int<lower=0> K_ln;
  array[N_ln] int<lower=1, upper=U * T> cell_ln;
  array[N_ln] int<lower=1, upper=J> signal_ln;
  array[N_ln] int<lower=1> aux_ln;
  vector<lower=0>[N_ln] y_ln;

  // binomial counts of trials (votes)
  int<lower=0> N_bi;
  array[N_bi] int<lower=1, upper=U * T> cell_bi;
  array[N_bi] int<lower=1, upper=J> signal_bi;
  array[N_bi] int<lower=0> trials_bi;
  array[N_bi] int<lower=0> y_bi;

  // Poisson counts (exercises)
  int<lower=0> N_po;
  array[N_po] int<lower=1, upper=U * T> cell_po;
  array[N_po] int<lower=1, upper=J> signal_po;
  array[N_po] int<lower=0> y_po;

  // beta proportions (un_votes); each signal with its precision
  int<lower=0> N_be;
  int<lower=0> K_be;
  array[N_be] int<lower=1, upper=U * T> cell_be;
  array[N_be] int<lower=1, upper=J> signal_be;
  array[N_be] int<lower=1> aux_be;
  vector<lower=0, upper=1>[N_be] y_be;

  // crises: follow-through (1 honoured, 0 violated) on credibility in the crisis year
  int<lower=0> N_c;
  array[N_c] int<lower=1, upper=U * T> cell_c;
  array[N_c] int<lower=0, upper=1> honored_c;
}
parameters {
  real<lower=0> tau;
  vector[A] z_alliance;
  vector[U] level;
  real<lower=0> sigma_innovation;
  matrix[U, T - 1] z_innovation;
  real<lower=0> kappa_honor;
  real<lower=0> kappa_violate;
  real<lower=0, upper=1> phi_reputation;
  vector[J] alpha;
  vector<lower=0>[J] loading;
  vector<lower=0>[K_nb] dispersion;
  vector<lower=0>[K_ln] sigma;
  vector<lower=0>[K_be] precision;
  real alpha_followthrough;
  real<lower=0> loading_followthrough;
}
transformed parameters {
  vector[A] mu_alliance = tau * z_alliance;
  matrix[U, T] credibility;
  {
    matrix[M, T] reputation = rep_matrix(0.0, M, T);
    for (t in 2:T) {
      reputation[:, t] = phi_reputation * reputation[:, t - 1]
                         + kappa_honor * honored[:, t - 1]
                         - kappa_violate * violated[:, t - 1];
    }
    for (u in 1:U) {
      credibility[u] = mu_alliance[alliance[u]] + level[u]
                       + append_col(0.0, cumulative_sum(sigma_innovation * z_innovation[u]))
                       + reputation[member[u]];
    }
  }
}
model {
  vector[U * T] theta = to_vector(credibility);  // column-major: (year - 1) * U + unit

  tau ~ normal(0, 1);
  z_alliance ~ std_normal();
  level ~ std_normal();
  sigma_innovation ~ normal(0, 0.5);
  to_vector(z_innovation) ~ std_normal();
  kappa_honor ~ normal(0, 1);
  kappa_violate ~ normal(0, 1);
  phi_reputation ~ beta(8, 2);
  alpha ~ normal(0, 1.5);
  loading ~ lognormal(0, 1);
  dispersion ~ exponential(1);
  sigma ~ normal(0, 1);
  precision ~ gamma(2, 0.1);
  alpha_followthrough ~ normal(0, 1.5);
  loading_followthrough ~ lognormal(0, 1);

  y_nb ~ neg_binomial_2_log(centre[signal_nb] + alpha[signal_nb]
                            + direction[signal_nb] .* loading[signal_nb] .* theta[cell_nb],
                            inv(dispersion[aux_nb]));
  y_ln ~ lognormal(centre[signal_ln] + alpha[signal_ln]
                   + direction[signal_ln] .* loading[signal_ln] .* theta[cell_ln],
                   sigma[aux_ln]);
  y_bi ~ binomial_logit(trials_bi, centre[signal_bi] + alpha[signal_bi]
                        + direction[signal_bi] .* loading[signal_bi] .* theta[cell_bi]);
  y_po ~ poisson_log(centre[signal_po] + alpha[signal_po]
                     + direction[signal_po] .* loading[signal_po] .* theta[cell_po]);
  y_be ~ beta_proportion(inv_logit(centre[signal_be] + alpha[signal_be]
                                   + direction[signal_be] .* loading[signal_be]
                                     .* theta[cell_be]),
                         precision[aux_be]);
  honored_c ~ bernoulli_logit(alpha_followthrough + loading_followthrough * theta[cell_c]);
}
