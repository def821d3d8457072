#include "listeners/model.hpp"

#include <algorithm>
#include <cmath>

#include <fmt/format.h>

namespace moodtunes::listeners {

namespace {

// The reward noise the posterior assumes (rewards lie in [-1, 1]).
constexpr double kNoiseSd = 0.7;
// Events within this distance of a track count as "tracks like this" in its reason.
constexpr float kExplainRadius = 0.35f;

using Vec = std::array<double, kDim>;
using Mat = std::array<double, kDim * kDim>;

Vec features(MoodPoint t, MoodPoint m) {
  const double v = t.valence, a = t.arousal, mv = m.valence, ma = m.arousal;
  const double dv = v - mv, da = a - ma;
  // The squared offsets from the mood carry the mood's interaction with the track: spanning
  // the same space as v*mv and a*ma, but "stay near my mood" is then one coefficient per axis,
  // which the ridge prior shrinks far less than four coordinated ones.
  return {1.0, v, a, v * v, a * a, dv * dv, da * da, mv, ma, mv * mv, ma * ma};
}

double dot(const Vec& x, const Vec& y) {
  double s = 0;
  for (std::size_t i = 0; i < kDim; ++i) s += x[i] * y[i];
  return s;
}

// In-place Cholesky of a symmetric positive definite matrix (lower triangle L, A = L L^T).
void cholesky(Mat& a) {
  for (std::size_t j = 0; j < kDim; ++j) {
    double d = a[j * kDim + j];
    for (std::size_t k = 0; k < j; ++k) d -= a[j * kDim + k] * a[j * kDim + k];
    const double l = std::sqrt(std::max(d, 1e-12));
    a[j * kDim + j] = l;
    for (std::size_t i = j + 1; i < kDim; ++i) {
      double s = a[i * kDim + j];
      for (std::size_t k = 0; k < j; ++k) s -= a[i * kDim + k] * a[j * kDim + k];
      a[i * kDim + j] = s / l;
    }
    for (std::size_t i = 0; i < j; ++i) a[i * kDim + j] = 0;
  }
}

Vec solve_lower(const Mat& l, Vec b) {  // L y = b
  for (std::size_t i = 0; i < kDim; ++i) {
    for (std::size_t k = 0; k < i; ++k) b[i] -= l[i * kDim + k] * b[k];
    b[i] /= l[i * kDim + i];
  }
  return b;
}

Vec solve_upper_t(const Mat& l, Vec y) {  // L^T x = y
  for (std::size_t i = kDim; i-- > 0;) {
    for (std::size_t k = i + 1; k < kDim; ++k) y[i] -= l[k * kDim + i] * y[k];
    y[i] /= l[i * kDim + i];
  }
  return y;
}

// splitmix64 and Box-Muller: portable, seeded, no std:: distributions (same list everywhere).
struct Rng {
  std::uint64_t x;
  std::uint64_t next() {
    std::uint64_t z = (x += 0x9E3779B97F4A7C15ull);
    z = (z ^ (z >> 30)) * 0xBF58476D1CE4E5B9ull;
    z = (z ^ (z >> 27)) * 0x94D049BB133111EBull;
    return z ^ (z >> 31);
  }
  double unit() { return (static_cast<double>(next() >> 11) + 0.5) * 0x1.0p-53; }
  double normal() { return std::sqrt(-2.0 * std::log(unit())) * std::cos(2.0 * M_PI * unit()); }
};

struct Reward {
  double r = 0, weight = 0;
};

MoodPoint mood_of(const Event& e) { return e.mood.value_or(MoodPoint{}); }

// How far a reaction moved along reaction_direction(), in [-1, 1].
double reaction_score(const Event& e) {
  if (!e.reaction) return 0;
  const auto s = music::parse_strategy(e.strategy).value_or(music::Strategy::kMatch);
  const MoodPoint d = reaction_direction(s, mood_of(e));
  const double proj = double(e.reaction->valence) * d.valence + double(e.reaction->arousal) * d.arousal;
  return std::clamp(proj / 0.25, -1.0, 1.0);
}

Reward reward_of(const Event& e, const ModelParams& p) {
  switch (e.signal) {
    case Signal::kLike: return {1.0, 1.0};
    case Signal::kSkip: return {p.skip_reward, 1.0};
    case Signal::kDislike: return {-1.0, 1.0};
    case Signal::kReaction: return {reaction_score(e), p.reaction_weight};
  }
  return {};
}

float dist2(MoodPoint a, MoodPoint b) {
  const float dv = a.valence - b.valence, da = a.arousal - b.arousal;
  return dv * dv + da * da;
}

}  // namespace

MoodPoint reaction_direction(music::Strategy strategy, MoodPoint mood) {
  const MoodPoint g = music::strategy_goal(strategy, mood);
  const double dx = g.valence - mood.valence, dy = g.arousal - mood.arousal;
  const double len = std::hypot(dx, dy);
  if (len < 0.1) return {1.0f, 0.0f};
  return {static_cast<float>(dx / len), static_cast<float>(dy / len)};
}

std::string fold_artist(const std::string& name) {
  std::string k = name;
  for (auto& c : k) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
  return k;
}

TrackTable::TrackTable(std::vector<TrackRef> tracks, std::vector<std::string> artist_names)
    : tracks_(std::move(tracks)), artist_names_(std::move(artist_names)) {
  by_id_.reserve(tracks_.size());
  for (std::size_t i = 0; i < tracks_.size(); ++i) by_id_.emplace(tracks_[i].id, i);
  for (std::size_t i = 0; i < artist_names_.size(); ++i)
    by_artist_.emplace(fold_artist(artist_names_[i]), static_cast<std::uint32_t>(i));
}

const TrackRef* TrackTable::find(std::int64_t id) const {
  const auto it = by_id_.find(id);
  return it == by_id_.end() ? nullptr : &tracks_[it->second];
}

std::optional<std::uint32_t> TrackTable::artist_id(const std::string& name) const {
  const auto it = by_artist_.find(fold_artist(name));
  if (it == by_artist_.end()) return std::nullopt;
  return it->second;
}

std::string_view nearest_emotion(MoodPoint mood) {
  const auto& c = emotion_coordinates();
  std::size_t best = 0;
  for (std::size_t i = 1; i < c.size(); ++i)
    if (dist2(mood, c[i]) < dist2(mood, c[best])) best = i;
  return emotion_name(best);
}

Profile fit(std::span<const Event> all, const ModelParams& params) {
  std::vector<const Event*> used;
  for (const auto& e : all)
    if (e.track) used.push_back(&e);
  if (used.size() > params.max_events) used.erase(used.begin(), used.end() - static_cast<std::ptrdiff_t>(params.max_events));

  Profile p;
  p.events = used.size();
  const std::size_t n = used.size();
  std::vector<Vec> phi(n);
  std::vector<double> r(n), w(n), wa(n), wl(n);
  std::vector<std::string> artist(n);
  double decay = 1.0, artist_decay = 1.0, local_decay = 1.0;
  for (std::size_t i = n; i-- > 0;) {  // newest first: weight forget^(events after it)
    const Event& e = *used[i];
    const Reward rw = reward_of(e, params);
    phi[i] = features(*e.track, mood_of(e));
    r[i] = rw.r;
    w[i] = rw.weight * decay;
    wa[i] = rw.weight * artist_decay;
    wl[i] = rw.weight * local_decay;
    decay *= params.forget;
    artist_decay *= params.artist_forget;
    local_decay *= params.local_forget;
    p.evidence += w[i];
    if (!e.artist.empty()) {
      artist[i] = fold_artist(e.artist);
      auto& st = p.artists[artist[i]];
      if (st.name.empty()) st.name = e.artist;
      if (e.signal == Signal::kLike) ++st.likes;
      if (e.signal == Signal::kSkip) ++st.skips;
      if (e.signal == Signal::kDislike) ++st.dislikes;
    }
  }

  // Alternate: theta on rewards less the artists' terms, then the artists' terms on what theta
  // leaves; two rounds settle it (an artist a listener hates otherwise drags theta's surface
  // toward wherever that artist's tracks happen to sit).
  for (int round = 0; round < 2; ++round) {
    Mat a{};
    Vec b{};
    for (std::size_t i = 0; i < kDim; ++i) a[i * kDim + i] = params.prior_precision;
    for (std::size_t k = 0; k < n; ++k) {
      double target = r[k];
      if (!artist[k].empty()) target -= p.artists[artist[k]].affinity;
      for (std::size_t i = 0; i < kDim; ++i) {
        b[i] += w[k] * target * phi[k][i];
        for (std::size_t j = 0; j <= i; ++j) a[i * kDim + j] += w[k] * phi[k][i] * phi[k][j];
      }
    }
    for (std::size_t i = 0; i < kDim; ++i)
      for (std::size_t j = 0; j < i; ++j) a[j * kDim + i] = a[i * kDim + j];
    cholesky(a);
    p.chol = a;
    p.mean = solve_upper_t(a, solve_lower(a, b));
    for (auto& [key, st] : p.artists) st.weight = st.residual = 0;
    for (std::size_t k = 0; k < n; ++k) {
      if (artist[k].empty()) continue;
      auto& st = p.artists[artist[k]];
      st.weight += wa[k];
      st.residual += wa[k] * (r[k] - dot(p.mean, phi[k]));
    }
    for (auto& [key, st] : p.artists) st.affinity = st.residual / (st.weight + params.artist_shrink);
  }
  if (params.local_weight > 0) {
    p.local.reserve(n);
    for (std::size_t k = 0; k < n; ++k) {
      double fitted = dot(p.mean, phi[k]);
      if (!artist[k].empty()) fitted += p.artists[artist[k]].affinity;
      p.local.push_back({*used[k]->track, mood_of(*used[k]), wl[k], std::clamp(r[k] - fitted, -params.local_clamp, params.local_clamp)});
    }
  }
  return p;
}

double mean_utility(const Profile& p, MoodPoint track, MoodPoint mood) { return dot(p.mean, features(track, mood)); }

namespace {

// The local correction for one mood on a kGrid x kGrid grid over [-1, 1]^2 (bilinear between
// nodes): a grid keeps the cost at kGrid^2 x events whatever the catalog's size.
constexpr int kGrid = 21;

class LocalGrid {
 public:
  LocalGrid(const Profile& p, MoodPoint mood, const ModelParams& params) {
    if (params.local_weight <= 0 || p.local.empty()) return;
    struct Near {
      MoodPoint track;
      double weight, residual;
    };
    std::vector<Near> near;
    const double mh = 2 * params.local_mood_bandwidth * params.local_mood_bandwidth;
    for (const auto& l : p.local) {
      const double w = l.weight * std::exp(-dist2(l.mood, mood) / mh);
      if (w > 1e-3) near.push_back({l.track, w, l.residual});
    }
    if (near.empty()) return;
    on_ = true;
    const double th = 2 * params.local_bandwidth * params.local_bandwidth;
    const double reach2 = 9 * params.local_bandwidth * params.local_bandwidth;  // 3 widths
    for (int i = 0; i < kGrid; ++i)
      for (int j = 0; j < kGrid; ++j) {
        const MoodPoint q{node(i), node(j)};
        double sw = 0, sr = 0;
        for (const auto& e : near) {
          const double d2 = dist2(q, e.track);
          if (d2 > reach2) continue;
          const double k = e.weight * std::exp(-d2 / th);
          sw += k, sr += k * e.residual;
        }
        grid_[index(i, j)] = params.local_weight * sr / (sw + params.local_shrink);
      }
  }
  bool on() const { return on_; }
  double at(MoodPoint x) const {
    const double gx = std::clamp((x.valence + 1.0) * (kGrid - 1) / 2.0, 0.0, kGrid - 1.0);
    const double gy = std::clamp((x.arousal + 1.0) * (kGrid - 1) / 2.0, 0.0, kGrid - 1.0);
    const int i = std::min(static_cast<int>(gx), kGrid - 2), j = std::min(static_cast<int>(gy), kGrid - 2);
    const double fx = gx - i, fy = gy - j;
    auto g = [&](int a, int b) { return grid_[index(a, b)]; };
    return (1 - fx) * ((1 - fy) * g(i, j) + fy * g(i, j + 1)) + fx * ((1 - fy) * g(i + 1, j) + fy * g(i + 1, j + 1));
  }

 private:
  static std::size_t index(int i, int j) {
    return static_cast<std::size_t>(i) * kGrid + static_cast<std::size_t>(j);
  }
  static float node(int i) { return -1.0f + 2.0f * static_cast<float>(i) / (kGrid - 1); }
  std::array<double, kGrid * kGrid> grid_{};
  bool on_ = false;
};

}  // namespace

MoodPoint preferred_point(const Profile& p, MoodPoint mood) {
  MoodPoint best{};
  double best_u = -1e300;
  for (int i = 0; i <= 40; ++i)
    for (int j = 0; j <= 40; ++j) {
      const MoodPoint q{-1.0f + 0.05f * static_cast<float>(i), -1.0f + 0.05f * static_cast<float>(j)};
      const double u = mean_utility(p, q, mood);
      if (u > best_u) best_u = u, best = q;
    }
  return best;
}

std::vector<Pick> pick(const Profile& profile, std::span<const Event> events, const TrackTable& table,
                       const PickRequest& req, const ModelParams& params) {
  Rng rng{req.seed * 0x2545F4914F6CDD1Dull + 0x1234567ull};
  // One Thompson draw of theta: mean + L^-T z has the posterior covariance (L L^T)^-1.
  Vec z{};
  for (auto& x : z) x = rng.normal() * kNoiseSd * params.explore;
  Vec theta = profile.mean;
  const Vec dev = solve_upper_t(profile.chol, z);
  for (std::size_t i = 0; i < kDim; ++i) theta[i] += dev[i];
  // ...and of each artist the listener has met (sorted by key so the draws do not depend on
  // the hash map's order).
  std::vector<std::pair<std::string, const ArtistStat*>> seen;
  for (const auto& [key, st] : profile.artists) seen.emplace_back(key, &st);
  std::sort(seen.begin(), seen.end(), [](const auto& x, const auto& y) { return x.first < y.first; });
  std::unordered_map<std::uint32_t, std::pair<double, double>> beta;  // artist -> (mean, draw)
  for (const auto& [key, st] : seen) {
    const double draw = st->affinity + rng.normal() * kNoiseSd * params.explore / std::sqrt(st->weight + params.artist_shrink);
    if (const auto id = table.artist_id(st->name)) beta[*id] = {st->affinity, draw};
  }
  // Which positions explore (score with the draws); the others exploit the posterior means.
  std::vector<char> explores(req.count, 0);
  for (std::size_t e = 0; e < std::min(params.explore_slots, req.count); ++e) {
    std::size_t k = rng.next() % req.count;
    while (explores[k]) k = (k + 1) % req.count;
    explores[k] = 1;
  }

  const MoodPoint m = req.mood;
  const double mv = m.valence, ma = m.arousal;
  // The mood-only terms of theta are the same for every track: left out of the score.
  auto surface = [&](const Vec& th, const TrackRef& t) {
    const double v = t.pos.valence, a = t.pos.arousal, dv = v - mv, da = a - ma;
    return th[1] * v + th[2] * a + th[3] * v * v + th[4] * a * a + th[5] * dv * dv + th[6] * da * da;
  };
  const LocalGrid local(profile, m, params);
  std::vector<float> exploit(table.size()), explore(table.size());
  for (std::size_t j = 0; j < table.size(); ++j) {
    const TrackRef& t = table.at(j);
    double um = surface(profile.mean, t), ud = surface(theta, t);
    if (local.on()) {
      const double c = local.at(t.pos);
      um += c, ud += c;
    }
    if (!beta.empty())
      if (const auto it = beta.find(t.artist); it != beta.end()) um += it->second.first, ud += it->second.second;
    exploit[j] = static_cast<float>(um);
    explore[j] = static_cast<float>(ud);
  }

  const double w0 = params.anchor * params.anchor_half / (params.anchor_half + profile.evidence);
  const MoodPoint goal = music::strategy_goal(req.strategy, m);
  std::vector<char> taken(table.size(), 0);
  std::vector<std::uint32_t> artists;
  const std::string ctx(nearest_emotion(m));
  std::vector<std::string_view> event_ctx;
  event_ctx.reserve(events.size());
  for (const auto& e : events) event_ctx.push_back(e.mood ? nearest_emotion(*e.mood) : std::string_view{});

  std::size_t repeats = 0;
  // An artist already in the list: only a loved one, twice at most, in the few places allowed.
  auto may_repeat = [&](std::uint32_t artist) {
    const auto n = std::count(artists.begin(), artists.end(), artist);
    if (n == 0) return true;
    if (n > 1 || repeats >= params.loved_slots) return false;
    const auto it = beta.find(artist);
    return it != beta.end() && it->second.first >= params.loved_affinity;
  };
  std::vector<Pick> out;
  for (std::size_t k = 0; k < req.count; ++k) {
    const float t = req.count > 1 ? static_cast<float>(k) / static_cast<float>(req.count - 1) : 0.0f;
    const MoodPoint anchor{m.valence + (goal.valence - m.valence) * t, m.arousal + (goal.arousal - m.arousal) * t};
    std::size_t best = table.size();
    float best_s = -1e30f;
    const std::vector<float>& personal = explores[k] ? explore : exploit;
    for (std::size_t j = 0; j < table.size(); ++j) {
      if (taken[j]) continue;
      const TrackRef& tr = table.at(j);
      const float s = personal[j] - static_cast<float>(w0) * dist2(tr.pos, anchor);
      if (s <= best_s) continue;
      if (req.exclude && req.exclude->count(tr.id)) continue;
      if (!req.allow_artist_repeats && !may_repeat(tr.artist)) continue;
      best = j, best_s = s;
    }
    if (best == table.size()) break;
    taken[best] = 1;
    const TrackRef& tr = table.at(best);
    if (std::find(artists.begin(), artists.end(), tr.artist) != artists.end()) ++repeats;
    artists.push_back(tr.artist);

    // The peak of this position's mean score: where the list aimed here.
    Pick pk;
    pk.track = &tr;
    double best_u = -1e300;
    for (int i = 0; i <= 40; ++i)
      for (int j = 0; j <= 40; ++j) {
        const MoodPoint q{-1.0f + 0.05f * static_cast<float>(i), -1.0f + 0.05f * static_cast<float>(j)};
        const double u = mean_utility(profile, q, m) - w0 * dist2(q, anchor);
        if (u > best_u) best_u = u, pk.target = q;
      }

    // Why: what this listener said about tracks like it in this context, and about its artist.
    int likes = 0, dislikes = 0, smiles = 0;
    for (std::size_t i = 0; i < events.size(); ++i) {
      const Event& e = events[i];
      if (!e.track || event_ctx[i] != ctx || dist2(*e.track, tr.pos) > kExplainRadius * kExplainRadius) continue;
      if (e.signal == Signal::kLike) ++likes;
      if (e.signal == Signal::kDislike) ++dislikes;
      if (e.signal == Signal::kReaction && reaction_score(e) > 0.25) ++smiles;
    }
    const std::string kind = describe_mood(tr.pos);
    pk.reason = fmt::format("valence {:+.2f}, arousal {:+.2f}; ", tr.pos.valence, tr.pos.arousal);
    std::vector<std::string> why;
    if (likes > 0)
      why.push_back("you liked " + std::to_string(likes) + " " + kind + (likes == 1 ? " track" : " tracks") + " when " + ctx +
                    (dislikes > 0 ? " (disliked " + std::to_string(dislikes) + ")" : ""));
    if (smiles > 0) why.push_back("you smiled more during " + std::to_string(smiles) + " like it");
    const auto ait = profile.artists.find(fold_artist(table.artist_name(tr.artist)));
    if (ait != profile.artists.end() && ait->second.likes > 0)
      why.push_back("you liked " + std::to_string(ait->second.likes) + " by " + ait->second.name);
    if (why.empty())
      why.push_back(likes == 0 && dislikes == 0 ? "exploring: " + kind + " is new to you when " + ctx
                                                : "exploring: " + kind + " when " + ctx + " is still uncertain for you");
    for (std::size_t i = 0; i < why.size(); ++i) pk.reason += (i ? "; " : "") + why[i];
    out.push_back(std::move(pk));
  }
  return out;
}

}  // namespace moodtunes::listeners
