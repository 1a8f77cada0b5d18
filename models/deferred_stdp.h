// Deferred potentiation for pair STDP with per-neuron traces (models/deferred.py).
//
// A postsynaptic spike does not walk its afferent synapses: its neuron's reset records it in
// a history. The potentiation it owes a synapse is applied when that synapse's presynaptic
// neuron next spikes, or when the run ends (the flush): in spike order, each step clipped,
// with the presynaptic trace at the postsynaptic spike, as the eager rule applies it.
#pragma once
#include <cmath>
#include <vector>

namespace stdplab_deferred {
//! Traces are factored over epochs this many time constants long, so that no factor
//! overflows: exp(-(t_k - t_last)/tau) = exp(-(t_k - epoch)/tau) * exp(-(epoch - t_last)/tau).
constexpr double EPOCH_TAUS = 100.0;

struct PostSpike {
    double t;
    double epoch;  // the start of t's epoch (stdplab_epoch)
    double decay;  // exp(-(t - epoch)/tau)
};

//! histories()[h][neuron]: the recorded spikes of each neuron of history h, in time order.
inline std::vector<std::vector<std::vector<PostSpike>>>& histories() {
    static std::vector<std::vector<std::vector<PostSpike>>> all;
    return all;
}
}  // namespace stdplab_deferred

//! The start of the epoch that holds `t`, for traces of time constant `tau`.
inline double stdplab_epoch(double t, double tau) {
    const double length = stdplab_deferred::EPOCH_TAUS * tau;
    return std::floor(t / length) * length;
}

//! Record a spike of `neuron` (of `n_neurons`) in history `history`; returns its spike count.
inline int stdplab_record_post_spike(int history, int neuron, int n_neurons, double t,
                                     double tau) {
    const double epoch = stdplab_epoch(t, tau);
    const stdplab_deferred::PostSpike spike{t, epoch, std::exp(-(t - epoch) / tau)};
    int count;
#pragma omp critical(stdplab_post_history)
    {
        auto& all = stdplab_deferred::histories();
        if ((int)all.size() <= history) all.resize(history + 1);
        if ((int)all[history].size() < n_neurons) all[history].resize(n_neurons);
        all[history][neuron].push_back(spike);
        count = (int)all[history][neuron].size();
    }
    return count;
}

//! `w` after the potentiation that the spikes of postsynaptic `neuron` from `t_from` on owe
//! a synapse whose presynaptic trace was `apre_last` just after `t_last`, and
//! `apre_epoch` = apre_last*exp((t_last - epoch)/tau) at the start of t_last's `epoch`: A*apre
//! each (multiplicative: A*apre*(w_max - w)), in order, each clipped to [0, w_max].
inline double stdplab_deferred_potentiation(double w, int history, int neuron, double t_from,
                                            double t_last, double apre_last, double epoch,
                                            double apre_epoch, double tau, double A,
                                            double w_max, int multiplicative) {
    const auto& all = stdplab_deferred::histories();
    if (history < 0 || (int)all.size() <= history || (int)all[history].size() <= neuron)
        return w;
    const auto& spikes = all[history][neuron];
    size_t first = spikes.size();
    while (first > 0 && spikes[first - 1].t >= t_from) --first;
    for (size_t k = first; k < spikes.size(); ++k) {
        const auto& spike = spikes[k];
        // a spike of t_last's epoch (nearly all): two products; of a later one: the exponential
        const double apre = spike.epoch == epoch
                                ? apre_epoch * spike.decay
                                : apre_last * std::exp(-(spike.t - t_last) / tau);
        w += multiplicative ? A * apre * (w_max - w) : A * apre;
        w = w < 0 ? 0 : (w > w_max ? w_max : w);
    }
    return w;
}
