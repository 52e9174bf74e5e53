//! Several objectives (`objectives`): each island's Pareto front, the
//! programs no other program of the island dominates, and their crowding
//! distances, by which parents are drawn from the front.
//!
//! The front is derived from the stored metrics whenever it is asked for,
//! so it needs no state of its own and a reopened database (a resumed run)
//! has the same front. A program is on a front only if it reports every
//! objective as a finite number and every metric of `constraints` above 0
//! (the training examples' 1% loss rule).

use serde::{Deserialize, Serialize};

use crate::{DbError, Metrics, ProgramDatabase, ProgramId};

/// Whether more or less of an objective is better.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, Default)]
#[serde(rename_all = "snake_case")]
pub enum Direction {
    #[default]
    Maximize,
    Minimize,
}

/// One objective: a metric the evaluator reports, and which way is better.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, Default)]
#[serde(default, deny_unknown_fields)]
pub struct Objective {
    pub metric: String,
    pub direction: Direction,
}

/// A program on an island's front.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct FrontMember {
    pub id: ProgramId,
    /// The objectives' values, in config order, as reported.
    pub values: Vec<f64>,
    /// NSGA-II's crowding distance within the front: infinite at the ends
    /// of an objective's range, larger where the front is sparse.
    pub crowding: f64,
}

/// `a` dominates `b`: no worse in every objective and better in one. Both
/// are in "more is better" form.
pub fn dominates(a: &[f64], b: &[f64]) -> bool {
    a.iter().zip(b).all(|(x, y)| x >= y) && a.iter().zip(b).any(|(x, y)| x > y)
}

/// Indices of the points no other point dominates, in input order.
pub fn non_dominated(points: &[Vec<f64>]) -> Vec<usize> {
    (0..points.len()).filter(|&i| !points.iter().any(|other| dominates(other, &points[i]))).collect()
}

/// The crowding distance of each point of a front: per objective, the gap
/// between its neighbours over the objective's range, summed; the ends of
/// each objective's range get infinity.
pub fn crowding_distances(front: &[Vec<f64>]) -> Vec<f64> {
    let n = front.len();
    let mut distance = vec![0.0; n];
    if n == 0 {
        return distance;
    }
    for objective in 0..front[0].len() {
        let mut order: Vec<usize> = (0..n).collect();
        order.sort_by(|&a, &b| front[a][objective].total_cmp(&front[b][objective]).then(a.cmp(&b)));
        let (low, high) = (front[order[0]][objective], front[order[n - 1]][objective]);
        distance[order[0]] = f64::INFINITY;
        distance[order[n - 1]] = f64::INFINITY;
        let range = high - low;
        if range <= 0.0 {
            continue;
        }
        for k in 1..n.saturating_sub(1) {
            let gap = front[order[k + 1]][objective] - front[order[k - 1]][objective];
            distance[order[k]] += gap / range;
        }
    }
    distance
}

/// A program's objectives in "more is better" form, or `None` when it
/// cannot be on a front (an objective missing or not finite, or a
/// constraint at 0 or below).
pub fn objective_point(
    objectives: &[Objective],
    constraints: &[String],
    metrics: &Metrics,
) -> Option<Vec<f64>> {
    if !constraints.iter().all(|c| metrics.get(c).is_some_and(|v| *v > 0.0)) {
        return None;
    }
    objectives
        .iter()
        .map(|o| {
            let value = metrics.get(&o.metric).copied().filter(|v| v.is_finite())?;
            Some(if o.direction == Direction::Minimize { -value } else { value })
        })
        .collect()
}

/// The front of `candidates` (id and "more is better" point), in their
/// order, with values as reported and crowding distances.
pub fn front_of(objectives: &[Objective], candidates: Vec<(ProgramId, Vec<f64>)>) -> Vec<FrontMember> {
    let points: Vec<Vec<f64>> = candidates.iter().map(|(_, p)| p.clone()).collect();
    let on_front = non_dominated(&points);
    let front: Vec<Vec<f64>> = on_front.iter().map(|&i| points[i].clone()).collect();
    let crowding = crowding_distances(&front);
    let sign: Vec<f64> =
        objectives.iter().map(|o| if o.direction == Direction::Minimize { -1.0 } else { 1.0 }).collect();
    on_front
        .iter()
        .zip(front)
        .zip(crowding)
        .map(|((&i, point), crowding)| FrontMember {
            id: candidates[i].0,
            values: point.iter().zip(&sign).map(|(v, s)| v * s).collect(),
            crowding,
        })
        .collect()
}

impl ProgramDatabase {
    /// `island`'s Pareto front by `objectives`, in id order; empty without
    /// objectives.
    pub fn pareto_front(&self, island: usize) -> Result<Vec<FrontMember>, DbError> {
        self.check_island(island)?;
        if self.config.objectives.is_empty() {
            return Ok(Vec::new());
        }
        let (objectives, constraints) = (&self.config.objectives, &self.config.constraints);
        let mut candidates = Vec::new();
        for id in self.island_members(island)? {
            if let Some(point) = objective_point(objectives, constraints, &self.program(id)?.metrics) {
                candidates.push((id, point));
            }
        }
        Ok(front_of(objectives, candidates))
    }

    /// A parent from `island`'s front, drawn with weights that grow with
    /// crowding distance (the ends of the front weigh twice the largest
    /// finite distance), so that sparse parts of the front are bred from
    /// more; `None` when the front is empty.
    pub(crate) fn parent_from_front(&mut self, island: usize) -> Result<Option<ProgramId>, DbError> {
        let front = self.pareto_front(island)?;
        if front.is_empty() {
            return Ok(None);
        }
        let finite_max = front.iter().map(|m| m.crowding).filter(|c| c.is_finite()).fold(0.0, f64::max);
        let end_weight = if finite_max > 0.0 { 2.0 * finite_max } else { 1.0 };
        // Integer weights keep the draw exact and the stream's use fixed.
        let weights: Vec<u64> = front
            .iter()
            .map(|m| {
                let w = if m.crowding.is_finite() { m.crowding } else { end_weight };
                ((w / end_weight) * 1_000_000.0).round().max(1.0) as u64
            })
            .collect();
        let total: u64 = weights.iter().sum();
        let mut pick = self.rng.below(total);
        for (member, weight) in front.iter().zip(weights) {
            if pick < weight {
                return Ok(Some(member.id));
            }
            pick -= weight;
        }
        unreachable!("the pick is below the total weight")
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn dominance_needs_no_worse_everywhere_and_better_somewhere() {
        assert!(dominates(&[2.0, 2.0], &[1.0, 2.0]));
        assert!(!dominates(&[2.0, 2.0], &[2.0, 2.0]), "equal points do not dominate each other");
        assert!(!dominates(&[3.0, 1.0], &[1.0, 3.0]), "a trade-off dominates neither way");
        let points = vec![vec![1.0, 5.0], vec![2.0, 4.0], vec![1.5, 3.0], vec![3.0, 1.0], vec![3.0, 1.0]];
        // (1.5, 3) is dominated by (2, 4); the two equal points both stay.
        assert_eq!(non_dominated(&points), [0, 1, 3, 4]);
    }

    #[test]
    fn crowding_is_infinite_at_the_ends_and_larger_where_the_front_is_sparse() {
        let front = vec![vec![0.0, 10.0], vec![1.0, 9.0], vec![2.0, 8.0], vec![8.0, 2.0], vec![10.0, 0.0]];
        let d = crowding_distances(&front);
        assert!(d[0].is_infinite() && d[4].is_infinite());
        // (1, 9): gaps 2/10 in each objective; (8, 2): 8/10 in each.
        assert!((d[1] - 0.4).abs() < 1e-12, "{d:?}");
        assert!((d[3] - 1.6).abs() < 1e-12, "{d:?}");
        assert!(d[3] > d[2] && d[2] > d[1]);
    }
}
