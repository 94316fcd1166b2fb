package cluster

import "testing"

func TestCoresPerRank(t *testing.T) {
	for _, tc := range []struct {
		ncpu int
		env  map[string]string
		want int
	}{
		{8, nil, 8},
		{8, map[string]string{"OMPI_COMM_WORLD_LOCAL_SIZE": "2"}, 4},
		{2, map[string]string{"OMPI_COMM_WORLD_LOCAL_SIZE": "2"}, 1},
		{2, map[string]string{"OMPI_COMM_WORLD_LOCAL_SIZE": "4"}, 1},
		{16, map[string]string{"PMIX_LOCAL_SIZE": "3"}, 5},
		{8, map[string]string{"OMPI_COMM_WORLD_LOCAL_SIZE": "zero"}, 8},
		{8, map[string]string{"OMPI_COMM_WORLD_LOCAL_SIZE": "0"}, 8},
	} {
		if got := coresPerRank(tc.ncpu, func(k string) string { return tc.env[k] }); got != tc.want {
			t.Errorf("coresPerRank(%d, %v) = %d, want %d", tc.ncpu, tc.env, got, tc.want)
		}
	}
}
