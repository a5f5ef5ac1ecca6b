#pragma once
// The toy verifiable tasks (addition, sorting, reversal, letters), their expert demonstrations,
// and the suites and environments that post-training runs on. Includes <chord/rl.hpp>.
//
//   #include <chord/tasks.hpp>

#include "chord/rl.hpp"

#include "chord/tasks/addition.hpp"
#include "chord/tasks/environment.hpp"
#include "chord/tasks/letters.hpp"
#include "chord/tasks/reverse.hpp"
#include "chord/tasks/sort.hpp"
#include "chord/tasks/suite.hpp"
#include "chord/tasks/task.hpp"
